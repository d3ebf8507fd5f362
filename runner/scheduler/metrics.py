"""What the scheduler has done, as Prometheus metrics, and a small HTTP endpoint for them.

`SchedulerMetrics` holds the counters and gauges in its own registry (so several schedulers,
as in tests, never collide). `MetricsServer` answers `GET /metrics` (Prometheus text format)
and `GET /healthz` (JSON) on 127.0.0.1 only: the numbers name playbooks and outcomes, which is
nobody else's business. It must never expose credentials, account ids or playbook contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LISTEN_HOST = "127.0.0.1"
_FAILED_OUTCOMES = frozenset({"failed", "partial"})


class SchedulerMetrics:
    """Runs, failures, actions, misses, drift and time since the last success, per playbook."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "runner_scheduled_runs",
            "Scheduled reconciles by outcome.",
            ["playbook", "outcome"],
            registry=r,
        )
        self.failures = Counter(
            "runner_scheduled_failures",
            "Scheduled reconciles that failed or were partial.",
            ["playbook"],
            registry=r,
        )
        self.actions = Counter(
            "runner_actions",
            "Actions carried out by scheduled reconciles, by type.",
            ["playbook", "type"],
            registry=r,
        )
        self.missed = Counter(
            "runner_missed_runs",
            "Scheduled runs that did not happen: late (misfire), overlap (previous run still "
            "going) or coalesced (several overdue runs collapsed into one).",
            ["playbook", "reason"],
            registry=r,
        )
        self.since_success = Gauge(
            "runner_seconds_since_last_success",
            "Seconds since the last successful reconcile (since scheduling began, if none).",
            ["playbook"],
            registry=r,
        )
        self.drift = Gauge(
            "runner_drift_pending_actions",
            "Actions still pending after the last run (0: the account matches).",
            ["playbook"],
            registry=r,
        )
        self.consecutive_failures = Gauge(
            "runner_consecutive_failures",
            "Failed runs in a row (the backoff grows with it).",
            ["playbook"],
            registry=r,
        )
        self.halted = Gauge(
            "runner_playbook_halted",
            "1 when the last run was halted (playbook or marker).",
            ["playbook"],
            registry=r,
        )
        self.invalid = Gauge(
            "runner_playbook_file_invalid",
            "1 while the file on disk is invalid (the last valid version keeps running).",
            ["file"],
            registry=r,
        )
        self._last_success: dict[str, float] = {}

    def watch(self, playbook: str) -> None:
        """Start the clock of `playbook` (if not started) for seconds-since-last-success."""
        if playbook in self._last_success:
            return
        self._last_success[playbook] = self.clock()
        self.since_success.labels(playbook).set_function(
            lambda: self.clock() - self._last_success[playbook]
        )

    def record_run(
        self,
        playbook: str,
        outcome: str,
        *,
        actions: dict[str, int],
        pending: int | None,
        halted: bool,
        consecutive_failures: int,
    ) -> None:
        self.watch(playbook)
        self.runs.labels(playbook, outcome).inc()
        if outcome in _FAILED_OUTCOMES:
            self.failures.labels(playbook).inc()
        for action_type, count in actions.items():
            self.actions.labels(playbook, action_type).inc(count)
        if outcome in ("in_sync", "applied"):
            self._last_success[playbook] = self.clock()
        if pending is not None:
            self.drift.labels(playbook).set(pending)
        self.halted.labels(playbook).set(1 if halted else 0)
        self.consecutive_failures.labels(playbook).set(consecutive_failures)

    def record_missed(self, playbook: str, reason: str, count: int = 1) -> None:
        self.missed.labels(playbook, reason).inc(count)

    def set_invalid(self, file: str, invalid: bool) -> None:
        self.invalid.labels(file).set(1 if invalid else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """`/metrics` and `/healthz` over plain HTTP/1.1 on 127.0.0.1, inside the running loop."""

    def __init__(
        self, metrics: SchedulerMetrics, health: Callable[[], dict[str, Any]], port: int
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port (useful when asked for port 0)."""
        self._server = await asyncio.start_server(self._serve, LISTEN_HOST, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass  # headers: nothing in them changes the answer
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            status, content_type, body = self._answer(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (body if method != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, self.metrics.exposition()
        if path == "/healthz":
            document = self.health()
            status = "200 OK" if document.get("status") == "ok" else "503 Service Unavailable"
            return status, "application/json", (json.dumps(document) + "\n").encode()
        return "404 Not Found", "text/plain", b"not found: try /metrics or /healthz\n"
