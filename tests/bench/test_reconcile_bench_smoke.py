"""Smoke run of bench/reconcile.py at tiny sizes, so the benchmark cannot rot unnoticed.

It runs the bench as a user would (a subprocess, `--json`) on the warped clock and checks the
document's shape and the properties the bench exists to show, at N = 1 and N = 6 with six
synthetic symbols listed: a no-op reconcile costs at most six requests, both strategies reach
the playbook's state, the runner uses the batch leverage form only in the `exact` scenario, and
the sixth single leverage update (budget 5 per 60 s) shows up as a minute of bench time that
took almost no real time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "reconcile.py"),
            "--sizes",
            "1,6",
            "--listed",
            "6",
            "--latency-ms",
            "5",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def rows(document: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(row["scenario"], row["n"]): row for row in document["results"]}


def test_bench_measures_every_size_in_both_scenarios(document: dict[str, Any]) -> None:
    assert set(rows(document)) == {("subset", 1), ("subset", 6), ("exact", 1), ("exact", 6)}
    assert document["settings"]["rate_limits"] is True


def test_noop_reconcile_costs_at_most_six_requests(document: dict[str, Any]) -> None:
    for row in document["results"]:
        noop = row["runner"]["noop"]
        assert noop["plan_outcome"] == noop["apply_outcome"] == "in_sync"
        assert noop["plan"] <= 6
        assert noop["apply"] <= 6


def test_runner_and_naive_both_reach_the_playbook_state(document: dict[str, Any]) -> None:
    for row in document["results"]:
        assert row["runner"]["converge"]["outcomes"][-1] in ("applied", "in_sync")
        assert row["naive"]["verified"] == "in_sync"
        for side in ("runner", "naive"):
            converge = row[side]["converge"]
            counted = sum(v for k, v in converge["by_endpoint"].items() if k != "429")
            assert counted == converge["requests"]


def test_batch_leverage_is_used_only_when_it_changes_nothing_else(
    document: dict[str, Any],
) -> None:
    table = rows(document)
    assert table[("exact", 6)]["runner"]["batch_leverage"] is True
    assert table[("subset", 6)]["runner"]["batch_leverage"] is False


def test_budget_waits_count_as_bench_time_not_real_time(document: dict[str, Any]) -> None:
    naive = rows(document)[("subset", 6)]["naive"]["converge"]
    assert naive["seconds"] >= 60  # six leverage updates, five per 60 s
    assert naive["real_seconds"] < 30
    exact = rows(document)[("exact", 6)]
    assert exact["runner"]["converge"]["seconds"] < 30
    assert exact["speedup"] > 2
