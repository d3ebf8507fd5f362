"""The scheduler's timing policy as pure functions of a schedule's period.

How late a run may start and still run (misfire grace), how much random delay spreads the
runs of many playbooks (jitter), and how long to wait after consecutive failures (backoff).
Values, not clocks: nothing here reads the time or sleeps.
"""

from __future__ import annotations

MIN_GRACE_S = 1
MAX_GRACE_S = 3600
MAX_JITTER_S = 10.0
DEFAULT_BACKOFF_CAP_S = 900.0


def misfire_grace_s(period_s: float) -> int:
    """A run may start up to half a period late (1 s to 1 h); later it is reported missed.

    Half a period: a late run still finishes before the next one is due, and a run that is
    later than that is better skipped (and reported) than run twice in a row. Whole seconds:
    the scheduler library accepts nothing else.
    """
    return int(min(max(period_s // 2, MIN_GRACE_S), MAX_GRACE_S))


def jitter_s(period_s: float) -> float:
    """Up to 10% of the period (at most 10 s) of random delay, so that many playbooks on one
    schedule do not hit the exchange in the same second."""
    return min(period_s * 0.1, MAX_JITTER_S)


def backoff_s(failures: int, period_s: float, cap_s: float = DEFAULT_BACKOFF_CAP_S) -> float:
    """Seconds from a failed run to the next attempt, after `failures` failures in a row.

    One period after the first failure (the normal schedule), then twice as long after each
    further failure, capped at `cap_s` but never shorter than one period.
    """
    if failures <= 0:
        return period_s
    exponent = min(failures - 1, 32)  # 2**32 periods is past any cap
    return min(period_s * 2.0**exponent, max(cap_s, period_s))


# Exit codes of a batch of runs (`runner schedule --once`), worst first: blocked by a guard
# (a person must change the playbook or the account) outranks an error (often transient),
# which outranks "changes pending", which outranks success.
_SEVERITY = {3: 3, 1: 2, 2: 1, 0: 0}


def worst_exit_code(codes: list[int]) -> int:
    """The worst of some exit codes, in the order 3 > 1 > 2 > 0 (unknown codes count as 1)."""
    worst = 0
    for code in codes:
        code = code if code in _SEVERITY else 1
        if _SEVERITY[code] > _SEVERITY[worst]:
            worst = code
    return worst
