"""`runner plan`, `runner apply`, `runner status` and `runner history`.

Parsing and printing only: the reconcile itself lives in `runner.reconcile.run`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from runner.errors import EXIT_ERROR, RunnerError
from runner.playbook.build import load_playbook
from runner.playbook.model import Playbook
from runner.reconcile.actions import PLAN_FORMAT_VERSION, Plan
from runner.reconcile.render import plan_document, render_plan, summary_line
from runner.reconcile.run import Reconciler, RunResult
from runner.session import open_session, state_dir_option

MARK_BAND_PCT = Decimal(1)  # a saved plan is refused when a mark moved more than this


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _progress(message: str) -> None:
    click.echo(f"  .. {message}", err=True)


def _plan_document(plan: Plan, playbook: Playbook, simulated: bool, exchange: str) -> str:
    """The `--json` plan, with the playbook's path and hash so `runner apply` can reuse it."""
    document = plan_document(plan, simulated=simulated, exchange=exchange)
    source = Path(playbook.source)
    document["playbook_path"] = str(source)
    document["playbook_sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    return json.dumps(document, indent=2)


@click.command("plan")
@click.argument(
    "playbook_path", metavar="PLAYBOOK", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan as a versioned JSON document."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes to apply (0: in sync, 1: error, 3: blocked by a guard).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan to this file, for `runner apply FILE` later.",
)
@state_dir_option
def plan(
    playbook_path: Path, as_json: bool, detailed_exitcode: bool, out: Path | None, state_dir: Path
) -> int:
    """Show what `runner apply` would change, and the risk each change carries.

    Reads the account (never writes), compares it with PLAYBOOK and prints, per symbol and
    margin mode, each change before -> after with its notional, margin, estimated liquidation
    price and its distance from the mark.

    \b
    Example:
      runner plan playbooks/quickstart.yaml
      runner plan playbooks/eth-isolated.yaml --json -o plan.json
    """
    playbook = load_playbook(playbook_path)
    outcome, exchange, simulated = asyncio.run(
        _run(playbook, state_dir, apply=False, show_source=None if as_json else str(playbook_path))
    )
    document = _plan_document(outcome.plan, playbook, simulated, exchange)
    if as_json:
        click.echo(document)
    if out is not None:
        out.write_text(document + "\n")
        click.echo(f"Plan saved to {out}; apply it with `runner apply {out}`.", err=True)
    if outcome.outcome == "blocked":
        return outcome.exit_code
    if detailed_exitcode:
        return outcome.exit_code
    return 0


@click.command("apply")
@click.argument(
    "target", metavar="PLAYBOOK|PLAN.json", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON document.")
@state_dir_option
def apply(target: Path, auto_approve: bool, as_json: bool, state_dir: Path) -> int:
    """Make the account match the playbook.

    Shows the plan, asks for confirmation on a terminal (refuses without --auto-approve when
    there is none), then carries it out in waves: cancel stale orders, margin mode, leverage,
    margin adjustments, new orders; then re-reads the account to verify. Every write is
    journaled before it is sent. A saved plan (from `runner plan -o`) is applied only if the
    account and the marks have not moved since it was made.

    \b
    Example:
      runner apply playbooks/quickstart.yaml --auto-approve
    """
    expected: Callable[[Plan], str | None] | None = None
    if target.suffix == ".json":
        saved = _read_saved_plan(target)
        playbook = load_playbook(Path(saved["playbook_path"]))
        expected = _saved_plan_check(saved)
    else:
        playbook = load_playbook(target)
    interactive = sys.stdin.isatty() and not as_json
    if not auto_approve and not interactive:
        raise RunnerError(
            "no terminal to confirm on: run `runner apply` with --auto-approve to apply "
            "without confirmation, or run `runner plan` to only look"
        )

    def confirm(plan: Plan) -> bool:
        if auto_approve:
            return True
        return click.confirm("Apply these changes?", default=False)

    outcome, exchange, simulated = asyncio.run(
        _run(
            playbook,
            state_dir,
            apply=True,
            confirm=confirm,
            show_source=None if as_json else str(target),
            expected=expected,
        )
    )
    if as_json:
        click.echo(json.dumps(_result_document(outcome, simulated, exchange), indent=2))
    else:
        _print_result(outcome)
    return outcome.exit_code


def _print_result(outcome: RunResult) -> None:
    click.echo("")
    if outcome.outcome == "blocked":
        click.echo("Blocked by guards: nothing was written.")
    elif outcome.outcome == "in_sync":
        click.echo("Nothing to do: the account matches the playbook.")
    elif outcome.outcome == "declined":
        click.echo("Not applied.")
    elif outcome.outcome == "refused":
        click.echo("Refused: " + "; ".join(outcome.messages))
    else:
        done = sum(1 for o in outcome.outcomes if o.status.value == "done")
        click.echo(
            f"{outcome.outcome.upper()}: {done} of {len(outcome.outcomes)} write(s) done in "
            f"{outcome.rounds} round(s)."
        )
        for message in outcome.messages:
            click.echo(f"  ! {message}")
        if outcome.final_plan is not None:
            click.echo("Verify: " + summary_line(outcome.final_plan))


def _result_document(outcome: RunResult, simulated: bool, exchange: str) -> dict[str, Any]:
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "outcome": outcome.outcome,
        "run_id": outcome.run_id,
        "simulated": simulated,
        "exchange": exchange,
        "rounds": outcome.rounds,
        "plan": outcome.plan.to_json(),
        "outcomes": [
            {"action": o.action.to_json(), "status": o.status.value, "detail": o.detail}
            for o in outcome.outcomes
        ],
        "final_plan": outcome.final_plan.to_json() if outcome.final_plan else None,
        "messages": outcome.messages,
    }


def _read_saved_plan(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunnerError(f"{path}: not a saved plan ({exc})") from exc
    if document.get("format_version") != PLAN_FORMAT_VERSION or "playbook_path" not in document:
        raise RunnerError(
            f"{path}: not a plan saved by `runner plan -o` (format {PLAN_FORMAT_VERSION})"
        )
    source = Path(document["playbook_path"])
    if not source.exists():
        raise RunnerError(f"{path}: its playbook {source} no longer exists")
    if hashlib.sha256(source.read_bytes()).hexdigest() != document.get("playbook_sha256"):
        raise RunnerError(
            f"{path}: the playbook {source} changed since the plan was made; "
            "run `runner plan` again"
        )
    return document


def _saved_plan_check(saved: dict[str, Any]) -> Callable[[Plan], str | None]:
    """Refuse a saved plan when the account or the marks moved beyond the band."""

    def identity(action: dict[str, Any]) -> tuple[Any, ...]:
        return (
            action["type"],
            action["symbol"],
            action["margin_mode"],
            action.get("leverage_after"),
            action.get("client_order_id"),
            action.get("adjustment"),
        )

    saved_ids = sorted(identity(a) for a in saved["actions"])

    def check(fresh: Plan) -> str | None:
        if fresh.account_id != saved["account_id"]:
            return f"the plan was made for account {saved['account_id']}, not {fresh.account_id}"
        for symbol, mark_text in saved["marks"].items():
            now = fresh.marks.get(symbol)
            if mark_text is None or now is None:
                continue
            then = Decimal(mark_text)
            moved = abs(now - then) / then * 100
            if moved > MARK_BAND_PCT:
                return (
                    f"{symbol} moved {moved:.2f}% since the plan was made (band "
                    f"{MARK_BAND_PCT}%); run `runner plan` again"
                )
        fresh_ids = sorted(identity(a.to_json()) for a in fresh.actions)
        if fresh_ids != saved_ids:
            return "the account changed since the plan was made; run `runner plan` again"
        return None

    return check


async def _run(
    playbook: Playbook,
    state_dir: Path,
    *,
    apply: bool,
    confirm: Callable[[Plan], bool] | None = None,
    show_source: str | None = None,
    expected: Callable[[Plan], str | None] | None = None,
) -> tuple[RunResult, str, bool]:
    """One reconcile in a fresh session; with `show_source`, print the plan before applying."""
    async with open_session(playbook, state_dir, progress=_progress) as session:
        exchange = session.exchange

        def show(plan: Plan) -> None:
            lines = render_plan(
                plan,
                exchange=exchange.description,
                simulated=exchange.simulated,
                source=show_source,
            )
            _echo_lines(lines)

        reconciler = Reconciler(exchange, session.journal, state_dir=state_dir, progress=_progress)
        result = await reconciler.run(
            playbook,
            apply=apply,
            confirm=confirm,
            on_plan=show if show_source is not None else None,
            expected=expected,
        )
        return result, exchange.description, exchange.simulated


@click.command("status")
@click.argument(
    "playbook_path", metavar="PLAYBOOK", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print the conditions as JSON.")
@state_dir_option
def status(playbook_path: Path, as_json: bool, state_dir: Path) -> int:
    """Show each symbol's condition (in sync, drift, blocked) and the exchange's margin figures."""
    playbook = load_playbook(playbook_path)
    result, exchange, simulated = asyncio.run(_run(playbook, state_dir, apply=False))
    plan_ = result.plan
    state = result.state
    if as_json:
        document = {
            "format_version": PLAN_FORMAT_VERSION,
            "playbook": playbook.name,
            "simulated": simulated,
            "exchange": exchange,
            "account": {
                "account_id": state.account_id,
                "usdc_holding": str(state.usdc_holding),
                "free_collateral": str(state.free_collateral),
                "total_collateral": str(state.total_collateral),
                "isolated_margin": str(state.isolated_margin),
            },
            "conditions": [c.to_json() for c in plan_.conditions],
            "unmanaged_orders": [u.to_json() for u in plan_.unmanaged],
        }
        click.echo(json.dumps(document, indent=2))
        return 0
    click.echo(f"Playbook {playbook.name} ({playbook_path})")
    if simulated:
        click.echo("SIMULATED EXCHANGE: runner's built-in simulator, no real money involved.")
    click.echo(f"Exchange: {exchange}")
    click.echo(
        f"USDC holding {state.usdc_holding:,.2f}  free collateral {state.free_collateral:,.2f}  "
        f"total collateral {state.total_collateral:,.2f}  isolated margin "
        f"{state.isolated_margin:,.2f}"
    )
    for condition in plan_.conditions:
        position = state.position((condition.symbol, condition.margin_mode))
        line = f"{condition.symbol} {condition.margin_mode.value}: {condition.status.value}"
        if condition.drift:
            line += " (" + ", ".join(condition.drift) + ")"
        click.echo(line)
        if position is not None:
            liq = f"{position.est_liq_price:,.2f}" if position.est_liq_price else "none"
            click.echo(
                f"    position {position.qty} @ {position.average_open_price:,.2f}  mark "
                f"{position.mark_price:,.2f}  margin {position.margin:,.2f}  est_liq_price {liq}"
                f"  unsettled pnl {position.unsettled_pnl:,.2f}"
            )
        for blocker in condition.blockers:
            click.echo(
                f"    blocked: {blocker.what}: {blocker.reason} (to unblock: {blocker.unblock})"
            )
    if plan_.unmanaged:
        click.echo(f"{len(plan_.unmanaged)} unmanaged order(s) on the account (left alone).")
    return 0


@click.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", default=20, show_default=True, help="How many runs to show.")
@click.option("--playbook", "playbook_name", help="Only runs of this playbook (its name).")
@state_dir_option
def history(as_json: bool, limit: int, playbook_name: str | None, state_dir: Path) -> int:
    """List past runs from the journal: when, playbook, git commit, actions and outcome."""
    from runner.journal import Journal

    journal_file = state_dir / "journal.sqlite3"
    if not journal_file.exists():
        runs = []
    else:
        with Journal.open(state_dir) as journal:
            runs = journal.runs(limit=limit, playbook=playbook_name)
    if as_json:
        document = {"format_version": 1, "runs": [dataclasses.asdict(r) for r in runs]}
        click.echo(json.dumps(document, indent=2, default=str))
        return 0
    if not runs:
        click.echo("No runs recorded yet.")
        return 0
    for r in runs:
        commit = (r.git_commit or "-")[:10] + ("+dirty" if r.git_dirty else "")
        actions = ", ".join(f"{k} {v}" for k, v in sorted(r.actions.items())) or "no actions"
        click.echo(
            f"#{r.run_id} {r.started_at} {r.mode:<9} {r.playbook:<16} {commit:<16} "
            f"{r.outcome or 'running':<15} {actions}" + (f"  error: {r.error}" if r.error else "")
        )
    return 0


__all__ = ["EXIT_ERROR", "apply", "history", "plan", "status"]
