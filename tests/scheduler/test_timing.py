"""The timing policy: misfire grace, jitter, backoff and the worst exit code."""

from __future__ import annotations

from runner.scheduler.timing import backoff_s, jitter_s, misfire_grace_s, worst_exit_code


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    delays = [backoff_s(n, 30, cap_s=600) for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def test_backoff_never_shortens_a_long_period() -> None:
    assert backoff_s(5, 3600, cap_s=600) == 3600
    assert backoff_s(0, 60) == 60
    assert backoff_s(10_000, 1, cap_s=900) == 900


def test_misfire_grace_is_half_a_period_in_whole_seconds_within_bounds() -> None:
    assert misfire_grace_s(300) == 150
    assert misfire_grace_s(1) == 1
    assert misfire_grace_s(7 * 86400) == 3600
    assert isinstance(misfire_grace_s(0.3), int)


def test_jitter_is_a_tenth_of_the_period_at_most_ten_seconds() -> None:
    assert jitter_s(30) == 3
    assert jitter_s(86400) == 10


def test_worst_exit_code_orders_blocked_over_error_over_success() -> None:
    assert worst_exit_code([]) == 0
    assert worst_exit_code([0, 0]) == 0
    assert worst_exit_code([0, 1, 0]) == 1
    assert worst_exit_code([1, 3, 0]) == 3
    assert worst_exit_code([3, 1]) == 3
    assert worst_exit_code([0, 2]) == 2
    assert worst_exit_code([2, 1]) == 1
    assert worst_exit_code([0, 130]) == 1  # an unexpected code counts as an error
