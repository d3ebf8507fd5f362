"""`runner validate`: output, exit codes, --json, and what it must not import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli.main import cli, main

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
RUNNER = Path(sys.executable).parent / "runner"

GOOD = "version: 1\nname: good\nsymbols:\n  PERP_ETH_USDC: {margin_mode: CROSS, leverage: 2}\n"
BAD = "version: 1\nname: bad\nsymbols:\n  PERP_ETH_USDC: {margin_mode: CROSS, leverage: 200}\n"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    code = exited.value.code
    assert isinstance(code, int)
    return code, out, err


def test_valid_directory_exits_0_with_one_ok_line_per_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["validate", str(PLAYBOOKS)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(list(PLAYBOOKS.glob("*.yaml")))
    assert f"ok  {PLAYBOOKS / 'quickstart.yaml'}  (quickstart, 2 symbols)" in lines


def test_one_bad_file_among_good_ones_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(BAD)
    code, out, _ = _run(["validate", str(tmp_path)], capsys)
    assert code == 1
    assert out.splitlines() == [
        f"ok  {tmp_path / 'a.yaml'}  (good, 1 symbol)",
        f"{tmp_path / 'b.yaml'}:4:49: symbols.PERP_ETH_USDC.leverage: 200 is above the maximum"
        " 100 (use an integer from 1 to 100)",
    ]


def test_json_output_is_one_versioned_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(BAD)
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    code, out, _ = _run(["validate", "--json", a, b], capsys)
    assert code == 1
    document = json.loads(out)
    assert document["version"] == 1
    good, bad = document["files"]
    assert good == {"path": a, "valid": True, "playbook": "good", "errors": []}
    assert bad["valid"] is False and bad["playbook"] is None
    assert bad["errors"] == [
        {
            "file": b,
            "line": 4,
            "col": 49,
            "field": "symbols.PERP_ETH_USDC.leverage",
            "message": "200 is above the maximum 100",
            "fix": "use an integer from 1 to 100",
        }
    ]


def test_missing_file_is_an_error_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["validate", str(tmp_path / "nope.yaml")], capsys)
    assert code == 1
    missing = tmp_path / "nope.yaml"
    assert out.strip() == f"{missing}: cannot read the file: No such file or directory"
    assert "Traceback" not in out + err


def test_no_path_is_a_usage_error_exiting_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["validate"], capsys)
    assert code == 1
    assert "Missing argument" in err


def test_cli_runner_returns_1_for_a_bad_playbook(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(cli, ["validate", str(path)], standalone_mode=False)
    assert result.exception is None
    assert result.return_value == 1
    assert "200 is above the maximum 100" in result.output


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert "runner validate playbooks/" in result.output
    assert "--json" in result.output


def test_installed_command_exits_1_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("version: 1\nname: x\nsymbols:\n\t- oops\n")
    done = subprocess.run(
        [str(RUNNER), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.startswith(f"{path}:4:1: tab character in the indentation")
    assert "Traceback" not in done.stdout + done.stderr


def test_installed_command_validates_the_shipped_playbooks() -> None:
    done = subprocess.run(
        [str(RUNNER), "validate", "--json", str(PLAYBOOKS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert all(f["valid"] for f in json.loads(done.stdout)["files"])


def test_validate_does_not_import_network_scheduler_or_simulator() -> None:
    script = (
        "import sys\n"
        "from runner.cli.main import main\n"
        "try:\n"
        f"    main(['validate', {str(PLAYBOOKS)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('httpx', 'apscheduler', 'httpcore', 'anyio')\n"
        "               or m == 'runner.sim' or m.startswith('runner.sim.')\n"
        "               or m.startswith('runner.orderly') or m.startswith('runner.reconcile'))\n"
        "assert 'runner.playbook.validate' in sys.modules\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "HEAVY="
