"""`runner schedule`, `runner halt` and `runner resume`.

Parsing and printing only: scheduling lives in `runner.scheduler`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from runner.session import state_dir_option


@click.command("schedule")
@click.argument(
    "paths",
    metavar="PATH...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--once",
    is_flag=True,
    help="Run every playbook once and exit with the worst result (3 blocked > 1 error > 0); "
    "for system cron, systemd timers and Kubernetes CronJobs.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One event per line, as text or as a JSON object.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus /metrics and /healthz on 127.0.0.1 at this port.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.2),
    default=3.0,
    show_default=True,
    help="Seconds between checks of the playbook files for changes (SIGHUP checks at once).",
)
@state_dir_option
def schedule(
    paths: tuple[Path, ...],
    once: bool,
    log_format: str,
    metrics_port: int | None,
    poll_interval: float,
    state_dir: Path,
) -> int:
    """Reconcile playbooks on their schedules, applying without confirmation.

    Each playbook (a file, or every *.yaml/*.yml of a directory) with a `schedule:` (5-field
    cron, weekday 0 or 7 = Sunday, or `{every: 30s}`) is reconciled with apply at those
    times; a scheduled playbook has consented to auto-approve. Interval schedules also run
    once at start. Playbooks without a schedule are reported and skipped.

    Runs never overlap; runs that could not happen (late, overlapping, coalesced) are logged
    and journaled as "missed"; failures back off exponentially until a run succeeds. Edited
    playbooks are validated and picked up within --poll-interval seconds or at once on
    SIGHUP; an invalid edit keeps the running version. SIGTERM/SIGINT finish the run in
    flight, then exit 0. `runner halt NAME` stops a playbook adding risk without a commit.

    \b
    Example:
      runner schedule playbooks/ --log-format json --metrics-port 9464
      runner schedule --once playbooks/eth-isolated.yaml
    """
    from runner.scheduler.logs import configure_logging, remove_logging

    handler = configure_logging(sys.stderr, log_format)
    try:
        if once:
            if metrics_port is not None:
                raise click.UsageError("--metrics-port has no effect with --once")
            from runner.scheduler.once import run_once

            return asyncio.run(run_once(list(paths), state_dir))
        from runner.scheduler.daemon import PlaybookScheduler
        from runner.scheduler.jobs import ScheduleOptions

        options = ScheduleOptions(
            state_dir=state_dir,
            poll_s=poll_interval,
            metrics_port=metrics_port,
        )

        async def serve() -> int:
            return await PlaybookScheduler(list(paths), options).serve()

        return asyncio.run(serve())
    finally:
        remove_logging(handler)


def _playbook_name(target: str) -> str:
    """A playbook's name from its file (validated) or as given."""
    path = Path(target)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        from runner.playbook.build import load_playbook

        return load_playbook(path).name
    return target


@click.command("halt")
@click.argument("target", metavar="PLAYBOOK", required=False)
@click.option("--reason", default="", help="Why; shown by `runner halt --list` and in logs.")
@click.option("--list", "list_only", is_flag=True, help="List the halted playbooks.")
@state_dir_option
def halt(target: str | None, reason: str, list_only: bool, state_dir: Path) -> int:
    """Emergency stop without a commit: PLAYBOOK's next runs behave as `halt: true`.

    PLAYBOOK is a playbook file or its `name:`. Until `runner resume`, every run of it,
    scheduled or `runner apply`, cancels its resting entries and adds no risk; margin rules
    still protect open positions. Takes effect at the next run; a run in flight finishes.

    \b
    Example:
      runner halt eth-isolated --reason "CPI print"
      runner halt --list
    """
    from runner.halt import halt_playbook, halted_playbooks

    if list_only:
        markers = halted_playbooks(state_dir)
        if not markers:
            click.echo(f"No playbook is halted (state directory {state_dir}).")
        for m in markers:
            extra = f" - {m.reason}" if m.reason else ""
            click.echo(f"{m.playbook}: halted since {m.since or '?'} by {m.by or '?'}{extra}")
        return 0
    if target is None:
        raise click.UsageError("give a playbook (file or name), or --list")
    name = _playbook_name(target)
    halt_playbook(state_dir, name, reason)
    click.echo(
        f"Halted {name}: its next runs cancel its resting entries and add no risk "
        f"(state directory {state_dir}). Undo with `runner resume {name}`."
    )
    return 0


@click.command("resume")
@click.argument("target", metavar="PLAYBOOK")
@state_dir_option
def resume(target: str, state_dir: Path) -> int:
    """Undo `runner halt`: PLAYBOOK's next runs follow the playbook again.

    \b
    Example:
      runner resume eth-isolated
    """
    from runner.halt import resume_playbook

    name = _playbook_name(target)
    marker = resume_playbook(state_dir, name)
    if marker is None:
        click.echo(f"{name} was not halted (state directory {state_dir}); nothing to do.")
    else:
        click.echo(f"Resumed {name}: its next runs follow the playbook again.")
    return 0
