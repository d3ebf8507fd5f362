"""Halt markers: `runner halt` / `runner resume` make the next runs behave as `halt: true`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli.main import cli
from runner.errors import RunnerError
from runner.halt import (
    apply_halt_marker,
    halt_marker_path,
    halt_playbook,
    halted_playbooks,
    read_halt_marker,
    resume_playbook,
)
from runner.playbook.build import load_playbook

from .helpers import write_playbook


def test_marker_makes_the_playbook_halted_until_resumed(tmp_path: Path, state_dir: Path) -> None:
    playbook = load_playbook(write_playbook(tmp_path, "eth-swing"))
    assert apply_halt_marker(playbook, state_dir).halt is False
    halt_playbook(state_dir, "eth-swing", reason="CPI print")
    halted = apply_halt_marker(playbook, state_dir)
    assert halted.halt is True
    assert halted.symbols == playbook.symbols and halted.name == playbook.name
    marker = read_halt_marker(state_dir, "eth-swing")
    assert marker is not None and marker.reason == "CPI print" and marker.since
    assert resume_playbook(state_dir, "eth-swing") is not None
    assert apply_halt_marker(playbook, state_dir).halt is False
    assert resume_playbook(state_dir, "eth-swing") is None


def test_marker_of_another_playbook_changes_nothing(tmp_path: Path, state_dir: Path) -> None:
    playbook = load_playbook(write_playbook(tmp_path, "eth-swing"))
    halt_playbook(state_dir, "btc-hedge")
    assert apply_halt_marker(playbook, state_dir) is playbook
    assert [m.playbook for m in halted_playbooks(state_dir)] == ["btc-hedge"]


def test_names_that_are_not_playbook_names_are_refused(state_dir: Path) -> None:
    for bad in ("../etc", "Eth", "", "a/b"):
        with pytest.raises(RunnerError):
            halt_marker_path(state_dir, bad)


def test_halt_and_resume_commands_accept_a_file_or_a_name(tmp_path: Path, state_dir: Path) -> None:
    path = write_playbook(tmp_path / "pb", "eth-swing")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["halt", str(path), "--reason", "manual", "--state-dir", str(state_dir)],
        standalone_mode=False,
    )
    assert result.exception is None, result.output
    assert "Halted eth-swing" in result.output
    assert (state_dir / "halt" / "eth-swing").exists()
    listed = runner.invoke(cli, ["halt", "--list", "--state-dir", str(state_dir)])
    assert "eth-swing: halted since" in listed.output and "manual" in listed.output
    result = runner.invoke(
        cli, ["resume", "eth-swing", "--state-dir", str(state_dir)], standalone_mode=False
    )
    assert result.exception is None and "Resumed eth-swing" in result.output
    assert not (state_dir / "halt" / "eth-swing").exists()
