"""A session: one exchange connection plus the journal, opened for one playbook.

Shared by the command line and the scheduler so that both resolve networks, credentials and
the state directory the same way, and both register the account secret with the journal
(which then refuses to store any text containing it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from runner.journal import Journal
from runner.orderly.ratelimit import RateLimiter, Wait
from runner.playbook.model import Playbook
from runner.reconcile.run import Exchange
from runner.settings import DEFAULT_STATE_DIR, connect, default_state_dir

F = TypeVar("F", bound=Callable[..., Any])


def state_dir_option(command: F) -> F:
    """The `--state-dir` option every command that touches the journal shares."""
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: default_state_dir(),
        show_default=f"$RUNNER_STATE_DIR or {DEFAULT_STATE_DIR}",
        help="Where the journal, the lock and the built-in simulator's state live.",
    )(command)


@dataclass(frozen=True, slots=True)
class Session:
    exchange: Exchange
    journal: Journal


def _budget_reporter(progress: Callable[[str], None]) -> Callable[[Wait], None]:
    def report(wait: Wait) -> None:
        if wait.seconds >= 0.5:  # only waits a person would notice
            progress(
                f"waiting {wait.seconds:.1f} s: Orderly allows {wait.budget.limit} "
                f"{wait.method} {wait.path} per {wait.budget.window:g} s"
            )

    return report


@asynccontextmanager
async def open_session(
    playbook: Playbook, state_dir: Path, *, progress: Callable[[str], None] | None = None
) -> AsyncIterator[Session]:
    """Connect to the playbook's network and account and open the journal. `progress` hears
    about every noticeable wait that Orderly's rate budgets impose."""
    state_dir.mkdir(parents=True, exist_ok=True)
    limiter = RateLimiter(on_wait=_budget_reporter(progress)) if progress is not None else None
    async with connect(
        playbook.network, playbook.account, state_dir=state_dir, rate_limiter=limiter
    ) as connection:
        Journal.register_secret(connection.credentials.secret)
        exchange = Exchange(
            client=connection.client,
            account_id=connection.credentials.account_id,
            network=playbook.network,
            simulated=connection.simulated,
            description=connection.describe(),
            base_url=connection.base_url,
        )
        with Journal.open(state_dir) as journal:
            yield Session(exchange=exchange, journal=journal)
