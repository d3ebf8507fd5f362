"""Which git commit a playbook came from, and whether the working tree differs from it.

Recorded with each run so that `runner history` can say what was applied. Runs `git` with a
timeout and answers None when git is missing, slow, or the path is not in a repository; it
must never fail a run, never take git's index lock, and never change the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 5.0

# Variables a git hook or an outer tool may have set that would point git at another repo.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


def _git(git: str, cwd: Path, *args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in _REPO_ENV}
    # GIT_OPTIONAL_LOCKS=0: `git status` would otherwise refresh the index and take its lock,
    # racing with the user's own git commands.
    env.update(GIT_OPTIONAL_LOCKS="0", LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    return subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [git, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def git_info(path: Path, *, timeout_s: float = GIT_TIMEOUT_S) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository holding `path`; (None, None) when unknown.

    `dirty` is True when tracked files differ from the commit or `path` itself is not
    tracked (what was applied is then not what the commit says); untracked files elsewhere,
    like the state directory, do not count. A repository without commits gives (None, True).
    """
    git = shutil.which("git")
    if git is None:
        return None, None
    path = Path(path).absolute()
    directory = path if path.is_dir() else path.parent
    if not directory.is_dir():
        return None, None
    try:
        inside = _git(git, directory, "rev-parse", "--is-inside-work-tree", timeout_s=timeout_s)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None, None
        head = _git(git, directory, "rev-parse", "--verify", "--quiet", "HEAD", timeout_s=timeout_s)
        commit = head.stdout.strip() if head.returncode == 0 and head.stdout.strip() else None
        status = _git(
            git, directory, "status", "--porcelain", "--untracked-files=no", timeout_s=timeout_s
        )
        if status.returncode != 0:
            return commit, None
        dirty = bool(status.stdout.strip()) or commit is None
        if not dirty and path.is_file():
            tracked = _git(
                git, directory, "ls-files", "--error-unmatch", "--", path.name, timeout_s=timeout_s
            )
            dirty = tracked.returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty
