"""Budgets make requests wait, report the wait, and never let a window overflow."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.orderly.errors import OrderlyError, RateLimited, ServerError, classify
from runner.orderly.ratelimit import Budget, RateLimiter, Wait
from runner.orderly.retry import RetryPolicy


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_leverage_budget_forces_a_wait_of_the_window_and_reports_it() -> None:
    clock = FakeTime()
    waits: list[Wait] = []
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, on_wait=waits.append, slack=0.0)
    for _ in range(5):
        assert await limiter.acquire("POST", "/v1/client/leverages") == 0
    waited = await limiter.acquire("POST", "/v1/client/leverages")
    assert waited == pytest.approx(60.0)
    assert clock.slept == [pytest.approx(60.0)]
    assert waits == [Wait("POST", "/v1/client/leverages", waits[0].budget, waited)]
    assert waits[0].budget.name == "leverage-write"


def test_concrete_paths_match_their_templates() -> None:
    limiter = RateLimiter()
    assert [b.name for b in limiter.budgets_for("GET", "/v1/client/order/pb-1")] == ["order-reads"]
    assert [b.name for b in limiter.budgets_for("get", "/v1/position/PERP_ETH_USDC?x=1")] == [
        "positions"
    ]
    assert limiter.budgets_for("GET", "/v1/client/leverages") == ()


def test_reservations_queue_first_come_first_served() -> None:
    clock = FakeTime()
    limiter = RateLimiter(clock=clock, slack=0.0)
    waits = [limiter.reserve("GET", "/v1/client/aggregate/holding") for _ in range(3)]
    assert waits == [0.0, 60.0, 120.0]


def test_a_batch_counts_each_order_toward_the_order_budget() -> None:
    clock = FakeTime()
    limiter = RateLimiter(clock=clock, slack=0.0)
    assert limiter.reserve("POST", "/v1/batch-order", items=8) == 0
    assert limiter.reserve("POST", "/v1/order") == 0
    assert limiter.reserve("POST", "/v1/order") == 0
    assert limiter.reserve("POST", "/v1/order") == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2), st.integers(1, 3)), min_size=1, max_size=40))
def test_no_window_ever_holds_more_than_the_limit(steps: list[tuple[float, int]]) -> None:
    clock = FakeTime()
    budget = Budget("b", 3, 1.0)
    limiter = RateLimiter({"b": budget}, {("GET", "/x"): ("b",)}, clock=clock, slack=0.0)
    sent: list[float] = []
    for gap, count in steps:
        clock.now += gap
        for _ in range(count):
            sent.append(clock.now + limiter.reserve("GET", "/x"))
    sent.sort()
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + budget.window - 1e-9) <= budget.limit


@pytest.mark.parametrize(
    ("status", "code", "write", "kind"),
    [
        (401, -1001, False, "AuthError"),
        (401, None, False, "AuthError"),
        (429, -1003, True, "RateLimited"),
        (200, -1003, False, "RateLimited"),
        (400, -1004, False, "InvalidRequest"),
        (400, -1103, True, "InvalidRequest"),
        (400, -1006, True, "NotFound"),
        (409, -1007, True, "Duplicate"),
        (400, -1101, True, "RiskRejected"),
        (400, -1012, True, "RiskRejected"),
        (500, -1000, False, "ServerError"),
        (500, -1000, True, "OutcomeUnknown"),
        (400, -1011, True, "OutcomeUnknown"),
        (503, None, False, "ServerError"),
        (404, None, True, "Rejected"),
    ],
)
def test_error_kind_follows_code_then_status(
    status: int, code: int | None, write: bool, kind: str
) -> None:
    error = classify("POST", "/v1/order", status, code, "msg", is_write=write)
    assert type(error).__name__ == kind
    assert str(error).startswith("POST /v1/order: ")
    assert (str(code) in str(error)) if code is not None else True


def test_retry_after_wins_and_budget_window_is_the_fallback_for_429() -> None:
    policy = RetryPolicy()
    with_header = RateLimited("GET", "/x", 429, -1003, "slow down", retry_after=7.0)
    without = RateLimited("GET", "/x", 429, -1003, "slow down")
    assert policy.delay(with_header, 1) == 7.0
    assert policy.delay(without, 1, window=60.0) == 60.0
    assert 0 <= policy.delay(ServerError("GET", "/x", 500, None, ""), 3) <= 1.0


@pytest.mark.parametrize(
    ("error", "read", "idempotent", "expected"),
    [
        (ServerError("GET", "/x", 500, None, ""), True, False, True),
        (classify("POST", "/x", 500, None, "", is_write=True), False, False, False),
        (classify("DELETE", "/x", 500, None, "", is_write=True), False, True, True),
        (classify("POST", "/x", 400, -1005, "", is_write=True), False, True, False),
        (RateLimited("POST", "/x", 429, -1003, "", retry_after=600), False, False, False),
    ],
)
def test_retry_decision_follows_the_error_kind(
    error: OrderlyError, read: bool, idempotent: bool, expected: bool
) -> None:
    assert (
        RetryPolicy().should_retry(error, attempt=1, is_read=read, idempotent=idempotent)
        is expected
    )
