"""Emergency stop without a commit: halt markers in the state directory.

`runner halt NAME` writes `<state dir>/halt/<NAME>`; while it exists, every run of that
playbook, scheduled or `runner apply`, behaves as if the playbook said `halt: true` (cancel our
resting entries, add no risk, keep the margin rules). `runner resume NAME` removes it. The
marker is read at the start of each run, so it takes effect at the next run without a reload.

This module only reads and writes markers; it must never talk to the exchange or change a
playbook file.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from runner.errors import RunnerError
from runner.playbook.model import Playbook

HALT_DIR = "halt"
# The playbook schema's own rule for names, so a name is always a safe file name.
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class HaltMarker:
    """Who halted a playbook, when, and why (all optional but the name)."""

    playbook: str
    since: str = ""
    by: str = ""
    reason: str = ""


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RunnerError(
            f"{name!r} is not a playbook name (lowercase letters, digits and hyphens): give the "
            "playbook's `name:` or the path of its file"
        )
    return name


def halt_marker_path(state_dir: Path, name: str) -> Path:
    return Path(state_dir) / HALT_DIR / _check_name(name)


def read_halt_marker(state_dir: Path, name: str) -> HaltMarker | None:
    """The marker of playbook `name`, or None when it is not halted."""
    path = halt_marker_path(state_dir, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        # Unreadable but present: halted is the safe answer.
        return HaltMarker(playbook=name)
    try:
        data = json.loads(text)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return HaltMarker(
        playbook=name,
        since=str(data.get("since", "")),
        by=str(data.get("by", "")),
        reason=str(data.get("reason", "")),
    )


def apply_halt_marker(playbook: Playbook, state_dir: Path) -> Playbook:
    """`playbook`, as `halt: true` if `runner halt` marked it in `state_dir`."""
    if playbook.halt or not halt_marker_path(state_dir, playbook.name).exists():
        return playbook
    return dataclasses.replace(playbook, halt=True)


def halt_playbook(state_dir: Path, name: str, reason: str = "") -> HaltMarker:
    """Write (or overwrite) the marker of playbook `name`."""
    path = halt_marker_path(state_dir, name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = HaltMarker(
        playbook=name,
        since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        by=f"{_user()}@{socket.gethostname()}",
        reason=reason,
    )
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(dataclasses.asdict(marker)) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # atomic: a run never reads half a marker
    return marker


def resume_playbook(state_dir: Path, name: str) -> HaltMarker | None:
    """Remove the marker of playbook `name`; the marker that was removed, or None."""
    marker = read_halt_marker(state_dir, name)
    halt_marker_path(state_dir, name).unlink(missing_ok=True)
    return marker


def halted_playbooks(state_dir: Path) -> list[HaltMarker]:
    folder = Path(state_dir) / HALT_DIR
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if _NAME.fullmatch(p.name))
    markers = [read_halt_marker(state_dir, name) for name in names]
    return [m for m in markers if m is not None]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
