"""Injected faults for /v1 routes: latency, 5xx replies, forced 429s, lost responses.

Every /v1 request draws the same three numbers from one seeded generator, so a given seed and
request sequence always produce the same faults. Admin routes (/sim/...) are never faulted.
This module decides faults only: it must never change exchange state.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from runner.sim import errors as e
from runner.sim.errors import SimError

SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(slots=True)
class FaultConfig:
    latency_ms: int = 0
    error_rate: float = 0.0
    # None: follow create_app(rate_limits=...); True/False: enforce §3.4 limits or not
    rate_limit: bool | None = None
    # probability of a forced 429 on any /v1 request
    rate_limit_rate: float = 0.0
    drop_response_rate: float = 0.0
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Draw:
    error_status: int | None
    forced_429: bool
    drop_response: bool


def _rate(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise SimError(e.INVALID_PARAM, f"{name} must be a number between 0 and 1") from None
    if not 0.0 <= rate <= 1.0:
        raise SimError(e.INVALID_PARAM, f"{name} must be between 0 and 1")
    return rate


class Faults:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)

    def configure(self, body: dict[str, Any]) -> FaultConfig:
        """Apply POST /sim/faults; omitted fields keep their value; the generator is reseeded."""
        allowed = set(FaultConfig.__dataclass_fields__)
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise SimError(e.UNKNOWN_PARAM, f"unknown parameter: {', '.join(unknown)}")
        current = self.config
        latency = body.get("latency_ms", current.latency_ms)
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise SimError(e.INVALID_PARAM, "latency_ms must be a non-negative number")
        rate_limit = body.get("rate_limit", current.rate_limit)
        if rate_limit is not None and not isinstance(rate_limit, bool):
            raise SimError(e.INVALID_PARAM, "rate_limit must be true, false or null")
        seed = body.get("seed", current.seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SimError(e.INVALID_PARAM, "seed must be an integer")
        self.config = FaultConfig(
            latency_ms=int(latency),
            error_rate=_rate(body, "error_rate", current.error_rate),
            rate_limit=rate_limit,
            rate_limit_rate=_rate(body, "rate_limit_rate", current.rate_limit_rate),
            drop_response_rate=_rate(body, "drop_response_rate", current.drop_response_rate),
            seed=seed,
        )
        self._rng = random.Random(seed)
        return self.config

    def draw(self) -> Draw:
        rng = self._rng
        error_roll, status_roll, limit_roll, drop_roll = (
            rng.random(),
            rng.random(),
            rng.random(),
            rng.random(),
        )
        config = self.config
        status = None
        if error_roll < config.error_rate:
            status = SERVER_ERROR_STATUSES[int(status_roll * len(SERVER_ERROR_STATUSES))]
        return Draw(
            error_status=status,
            forced_429=limit_roll < config.rate_limit_rate,
            drop_response=drop_roll < config.drop_response_rate,
        )
