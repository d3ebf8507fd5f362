"""What the journal hands back: frozen records of runs, intents and lock holders.

Times are ISO 8601 UTC strings (`...Z`). Payloads and details are the JSON that was stored,
read back with Decimal for any JSON number; Decimals the engine stored come back as strings
(that is how they were written), so convert them where they are used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

RUN_MODES: Final = frozenset({"plan", "apply", "scheduled", "simulate"})
RUN_OUTCOMES: Final = frozenset(
    {
        "in_sync",
        "changes_pending",
        "applied",
        "failed",
        "blocked",
        "partial",
        "missed",
        "declined",
        "refused",
    }
)
# "unknown": the write was sent and its result never came back; like an intent with no
# outcome at all, it stays unresolved until a later run looks it up on the exchange.
INTENT_STATUSES: Final = frozenset({"done", "failed", "unknown", "skipped"})
RESOLVED_STATUSES: Final = frozenset({"done", "failed", "skipped"})


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    started_at: str
    finished_at: str | None  # None: still running, or the process died mid-run
    playbook: str
    playbook_path: str
    account_id: str
    network: str
    mode: str
    git_commit: str | None
    git_dirty: bool | None
    pid: int
    host: str
    outcome: str | None
    summary: Mapping[str, Any] | None
    error: str | None
    actions: Mapping[str, int]  # intents recorded in this run, counted by action_type


@dataclass(frozen=True, slots=True)
class IntentRecord:
    intent_id: int
    run_id: int
    account_id: str
    playbook: str
    recorded_at: str
    action_type: str
    symbol: str
    margin_mode: str
    client_order_id: str | None
    payload: Mapping[str, Any]
    status: str | None  # None: no outcome was ever recorded (a crash after the write)
    detail: Mapping[str, Any] | None
    outcome_at: str | None
    resolution: Mapping[str, Any] | None  # what a later run found out, see resolve_intent
    resolved_at: str | None
    resolved_by_run: int | None

    @property
    def unresolved(self) -> bool:
        return self.status is None or self.status == "unknown"


@dataclass(frozen=True, slots=True)
class LockHolder:
    account_id: str
    owner: str | None
    pid: int
    host: str
    acquired_at: str
    expires_at: str

    def describe(self) -> str:
        who = f"pid {self.pid} on host {self.host}"
        if self.owner:
            who += f" ({self.owner})"
        return who
