"""Event logs (text and JSON lines) and the metrics endpoint."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import httpx

from runner.scheduler.logs import configure_logging, log_event, remove_logging
from runner.scheduler.metrics import MetricsServer, SchedulerMetrics


def capture(log_format: str) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    return stream, configure_logging(stream, log_format)


def test_json_logs_are_one_object_per_line_with_ts_level_event() -> None:
    stream, handler = capture("json")
    try:
        log_event(logging.ERROR, "run_missed", playbook="eth", reason="late", count=2, empty=None)
        logging.getLogger("apscheduler.scheduler").error("library trouble")
        logging.getLogger("apscheduler.scheduler").warning("library chatter")  # ours says it
    finally:
        remove_logging(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["event"] == "run_missed" and first["level"] == "error"
    assert first["playbook"] == "eth" and first["count"] == 2 and "empty" not in first
    assert first["ts"].endswith("Z")
    assert lines[1]["event"] == "log" and lines[1]["message"] == "library trouble"


def test_text_logs_quote_spaces_and_list_problems_on_their_own_lines() -> None:
    stream, handler = capture("text")
    try:
        log_event(
            logging.ERROR,
            "playbook_invalid",
            file="pb/a.yaml",
            note="keeping the old one",
            problems=["pb/a.yaml:3:7: leverage: 0 is less than 1", "pb/a.yaml:9:1: bad"],
        )
    finally:
        remove_logging(handler)
    head, *problems = stream.getvalue().splitlines()
    assert "ERROR" in head and "playbook_invalid file=pb/a.yaml" in head
    assert 'note="keeping the old one"' in head
    assert problems == ["    pb/a.yaml:3:7: leverage: 0 is less than 1", "    pb/a.yaml:9:1: bad"]


async def test_metrics_endpoint_serves_metrics_and_health_on_loopback() -> None:
    now = [1000.0]
    metrics = SchedulerMetrics(clock=lambda: now[0])
    metrics.watch("eth")
    metrics.record_run(
        "eth",
        "applied",
        actions={"place_order": 2},
        pending=0,
        halted=False,
        consecutive_failures=0,
    )
    metrics.record_run("eth", "failed", actions={}, pending=3, halted=False, consecutive_failures=1)
    metrics.record_missed("eth", "overlap", 2)
    now[0] += 42
    health: dict[str, Any] = {"status": "ok"}
    server = MetricsServer(metrics, lambda: health, port=0)
    port = await server.start()
    try:
        assert server._server is not None
        assert {s.getsockname()[0] for s in server._server.sockets} == {"127.0.0.1"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            text = (await http.get("/metrics")).text
            ok = await http.get("/healthz")
            health["status"] = "stopping"
            stopping = await http.get("/healthz")
            missing = await http.get("/nope")
    finally:
        await server.close()
    assert 'runner_scheduled_runs_total{outcome="applied",playbook="eth"} 1.0' in text
    assert 'runner_scheduled_failures_total{playbook="eth"} 1.0' in text
    assert 'runner_actions_total{playbook="eth",type="place_order"} 2.0' in text
    assert 'runner_missed_runs_total{playbook="eth",reason="overlap"} 2.0' in text
    assert 'runner_drift_pending_actions{playbook="eth"} 3.0' in text
    assert 'runner_seconds_since_last_success{playbook="eth"} 42.0' in text
    assert 'runner_consecutive_failures{playbook="eth"} 1.0' in text
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}
    assert stopping.status_code == 503
    assert missing.status_code == 404
