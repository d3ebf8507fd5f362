from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.journal import git_info

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "playbooks").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "playbooks" / "eth.yaml").write_text("version: 1\n")
    git(repo, "add", "playbooks/eth.yaml")
    git(repo, "commit", "-q", "-m", "eth")
    return repo


def test_a_committed_playbook_gives_the_commit_and_clean(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert git_info(repo / "playbooks" / "eth.yaml") == (head, False)
    assert git_info(repo / "playbooks") == (head, False)


def test_untracked_files_elsewhere_such_as_the_state_dir_do_not_make_it_dirty(
    repo: Path,
) -> None:
    (repo / ".runner").mkdir()
    (repo / ".runner" / "journal.sqlite3").write_bytes(b"x")
    assert git_info(repo / "playbooks" / "eth.yaml")[1] is False


def test_a_modified_tracked_file_makes_it_dirty(repo: Path) -> None:
    (repo / "playbooks" / "eth.yaml").write_text("version: 1\nhalt: true\n")
    head = git(repo, "rev-parse", "HEAD")
    assert git_info(repo / "playbooks" / "eth.yaml") == (head, True)


def test_an_untracked_playbook_is_dirty(repo: Path) -> None:
    (repo / "playbooks" / "new.yaml").write_text("version: 1\n")
    assert git_info(repo / "playbooks" / "new.yaml")[1] is True


def test_a_repository_without_commits_has_no_commit_and_is_dirty(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "p.yaml").write_text("version: 1\n")
    assert git_info(tmp_path / "p.yaml") == (None, True)


def test_outside_a_repository_or_without_git_nothing_is_known(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "p.yaml").write_text("version: 1\n")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_info(outside / "p.yaml") == (None, None)
    assert git_info(tmp_path / "missing" / "p.yaml") == (None, None)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert git_info(repo / "playbooks" / "eth.yaml") == (None, None)


def test_a_git_dir_set_by_a_hook_does_not_redirect_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    head = git(repo, "rev-parse", "HEAD")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert git_info(repo / "playbooks" / "eth.yaml") == (head, False)
