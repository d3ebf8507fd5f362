"""plan, apply, status and history through the command line, on the embedded simulator."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from runner.cli.main import main
from runner.sim.embedded import open_embedded

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "playbooks" / "quickstart.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


async def _admin(state_dir: Path, method: str, path: str, body: dict[str, object]) -> None:
    sim = open_embedded(state_dir)
    async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as client:
        response = await client.request(
            method,
            path,
            content=json.dumps(body, default=str).encode(),
            headers={"Authorization": f"Bearer {sim.admin_token}"},
        )
        assert response.json()["success"], response.text


def admin(state_dir: Path, path: str, body: dict[str, object]) -> None:
    asyncio.run(_admin(state_dir, "POST", path, body))


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "state"
    monkeypatch.setenv("RUNNER_STATE_DIR", str(directory))
    for name in ("ORDERLY_BASE_URL", "ORDERLY_ACCOUNT_ID", "ORDERLY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    admin(directory, "/sim/market", {"frozen": True})
    admin(directory, "/sim/prices", {"symbol": "PERP_ETH_USDC", "mark_price": Decimal(3000)})
    admin(directory, "/sim/prices", {"symbol": "PERP_BTC_USDC", "mark_price": Decimal(95000)})
    return directory


def test_apply_then_plan_reports_in_sync_with_detailed_exit_codes(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", QUICKSTART, "--detailed-exitcode")
    assert code == 2
    assert "SIMULATED EXCHANGE" in out
    code, out, _ = run(capsys, "apply", QUICKSTART, "--auto-approve")
    assert code == 0, out
    assert "APPLIED" in out
    code, out, _ = run(capsys, "plan", QUICKSTART, "--detailed-exitcode")
    assert code == 0
    assert "No changes" in out


def test_apply_without_a_terminal_needs_auto_approve(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "apply", QUICKSTART)
    assert code == 1
    assert "--auto-approve" in err
    code, _, _ = run(capsys, "plan", QUICKSTART, "--detailed-exitcode")
    assert code == 2  # nothing was written


def test_plan_json_is_a_versioned_document(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", QUICKSTART, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["format_version"] == 1
    assert document["simulated"] is True
    assert document["summary"]["by_type"]["place_order"] == 3
    assert {c["status"] for c in document["conditions"]} == {"drift"}


def test_saved_plan_applies_only_while_the_marks_hold(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    assert run(capsys, "plan", QUICKSTART, "-o", str(saved))[0] == 0
    admin(state_dir, "/sim/prices", {"symbol": "PERP_ETH_USDC", "mark_price": Decimal(3100)})
    code, out, _ = run(capsys, "apply", str(saved), "--auto-approve")
    assert code == 1
    assert "moved" in out
    admin(state_dir, "/sim/prices", {"symbol": "PERP_ETH_USDC", "mark_price": Decimal(3000)})
    code, out, _ = run(capsys, "apply", str(saved), "--auto-approve")
    assert code == 0, out


def test_guard_breach_exits_3_and_writes_nothing(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        Path(QUICKSTART).read_text().replace("max_order_notional: 500", "max_order_notional: 100")
    )
    code, out, _ = run(capsys, "apply", str(strict), "--auto-approve")
    assert code == 3
    assert "max_order_notional" in out
    code, out, _ = run(capsys, "status", QUICKSTART, "--json")
    assert json.loads(out)["account"]["isolated_margin"] == "0"


def test_history_and_status_show_the_runs(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "apply", QUICKSTART, "--auto-approve")
    run(capsys, "plan", QUICKSTART)
    code, out, _ = run(capsys, "history", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [r["mode"] for r in runs] == ["plan", "apply"]
    assert runs[1]["outcome"] == "applied"
    assert runs[1]["actions"]["place_order"] == 3
    code, out, _ = run(capsys, "status", QUICKSTART)
    assert code == 0
    assert "PERP_ETH_USDC ISOLATED: in_sync" in out


def test_runner_halt_makes_apply_cancel_our_entries(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", QUICKSTART, "--auto-approve")[0] == 0
    assert run(capsys, "halt", QUICKSTART)[0] == 0
    code, out, _ = run(capsys, "apply", QUICKSTART, "--auto-approve")
    assert code == 0
    assert "HALTED" in out
    assert out.count("- cancel") == 3
    assert run(capsys, "resume", QUICKSTART)[0] == 0
    code, out, _ = run(capsys, "plan", QUICKSTART, "--detailed-exitcode")
    assert code == 2
    assert out.count("+ place") == 3
