"""The playbook files a scheduler watches, and what changed in them since the last look.

`PlaybookCatalog.scan()` re-expands the given paths (a directory's new files are picked up),
and for each file compares its mtime and size, then its sha256, with the last look. A changed
file is parsed from exactly the bytes that were hashed and validated before anyone sees it: a
`Change` carries either the new Playbook or the PlaybookError that says why it cannot be
used. It never decides what to do with a change: that is the daemon's job (an invalid change
keeps the old version running).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.playbook.build import expand_paths, parse_playbook
from runner.playbook.errors import PlaybookError, Problem
from runner.playbook.model import Playbook


@dataclass(frozen=True, slots=True)
class Change:
    """One file that appeared, changed or disappeared."""

    path: Path
    kind: str  # "loaded" | "invalid" | "removed"
    playbook: Playbook | None = None
    error: PlaybookError | None = None
    sha256: str = ""

    @property
    def key(self) -> str:
        return str(self.path)


@dataclass(slots=True)
class _Seen:
    stat: tuple[int, int] | None
    sha256: str


class PlaybookCatalog:
    """Files under the given paths, with the fingerprint of what was last read from each."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self._seen: dict[Path, _Seen] = {}

    def files(self) -> list[Path]:
        """The playbook files the paths stand for now (a directory without any is skipped)."""
        return [p for p in expand_paths(self.paths) if not p.is_dir()]

    def empty_directories(self) -> list[Path]:
        return [p for p in expand_paths(self.paths) if p.is_dir()]

    def scan(self, *, force: bool = False) -> list[Change]:
        """What changed since the last scan; `force` re-reads files whose mtime is unchanged
        (an edit within the file system's timestamp resolution, or a SIGHUP)."""
        changes: list[Change] = []
        present = self.files()
        for path in present:
            change = self._look(path, force)
            if change is not None:
                changes.append(change)
        for path in sorted(set(self._seen) - set(present)):
            del self._seen[path]
            changes.append(Change(path, "removed"))
        return changes

    def _look(self, path: Path, force: bool) -> Change | None:
        seen = self._seen.get(path)
        try:
            info = os.stat(path)
            stat = (info.st_mtime_ns, info.st_size)
            if seen is not None and seen.stat == stat and not force:
                return None
            raw = path.read_bytes()
        except OSError as exc:
            if seen is not None and seen.sha256 == "unreadable":
                return None
            self._seen[path] = _Seen(None, "unreadable")
            problem = Problem(str(path), 0, 0, "", f"cannot read the file: {exc.strerror or exc}")
            return Change(path, "invalid", error=PlaybookError([problem]))
        digest = hashlib.sha256(raw).hexdigest()
        if seen is not None and seen.sha256 == digest:
            seen.stat = stat
            return None
        self._seen[path] = _Seen(stat, digest)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            problem = Problem(
                str(path), line, 1, "", "the file is not UTF-8 text", "save it as UTF-8"
            )
            return Change(path, "invalid", error=PlaybookError([problem]), sha256=digest)
        try:
            playbook = parse_playbook(text, str(path))
        except PlaybookError as exc:
            return Change(path, "invalid", error=exc, sha256=digest)
        return Change(path, "loaded", playbook=playbook, sha256=digest)
