"""The bench clock: real time plus the waits a time-warping event loop skipped.

Leverage updates are budgeted 5 per 60 s (orderly-api.md §3.4), so reconciling many symbols
lasts many minutes. `warped_loop` never blocks on a timer: when nothing is ready before the
next timer (a budget wait, a 429 back-off, the simulator's injected latency), it adds the wait
to `BenchClock.skipped` and goes on. Everything that keeps time in the bench reads that clock
(the client's RateLimiter and signatures, the journal, the simulator), so budgets and windows
behave as in real time, and a stopwatch on it reads real time spent + time skipped.

Only for in-process runs (ASGI transport, no sockets, no threads): with real I/O pending, a
skipped wait would be time that did not pass. It must never be used outside bench/.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any


class BenchClock:
    """Real time plus the time skipped by the warping loop (zero with --real-clock)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def wall(self) -> float:
        return time.time() + self.skipped

    def sim_ms(self) -> int:
        return int(self.wall() * 1000)


class _WarpSelector(selectors.DefaultSelector):
    """Never blocks on a timer: when nothing is ready, the wait is added to the clock.

    Everything here runs in-process (ASGI transport, no sockets, no threads), so "nothing
    ready before the next timer" means the program would only have slept."""

    def __init__(self, clock: BenchClock) -> None:
        super().__init__()
        self._bench_clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None or timeout <= 0:
            return list(super().select(timeout))
        ready = list(super().select(0))
        if not ready:
            self._bench_clock.skipped += timeout
        return ready


class _WarpLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: BenchClock) -> None:
        self._bench_clock = clock
        super().__init__(_WarpSelector(clock))

    def time(self) -> float:
        return self._bench_clock.monotonic()


def warped_loop(clock: BenchClock) -> asyncio.AbstractEventLoop:
    return _WarpLoop(clock)


class Stopwatch:
    def __init__(self, clock: BenchClock) -> None:
        self.clock = clock
        self.start, self.real = clock.monotonic(), time.perf_counter()

    def result(self) -> dict[str, float]:
        return {
            "seconds": round(self.clock.monotonic() - self.start, 3),
            "real_seconds": round(time.perf_counter() - self.real, 3),
        }
