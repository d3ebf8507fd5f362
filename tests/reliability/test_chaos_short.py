"""A short run of bench/chaos.py in the default suite: applies under injected faults and moving
marks never place an order twice, never break a guard, never touch a foreign order, and
converge once the faults stop."""

from __future__ import annotations

from pathlib import Path

import chaos
import pytest


@pytest.mark.parametrize("seed", [3, 11])
async def test_twenty_faulty_applies_place_nothing_twice_and_converge(
    tmp_path: Path, seed: int
) -> None:
    report = await chaos.run_chaos(20, 0.15, seed, tmp_path)
    assert report["runs"] == 20
    assert report["faults_injected"] > 0
    assert report["duplicates"] == 0, report["findings"]
    assert report["violations"] == 0, report["findings"]
    assert report["converged"], report["convergence"]
    # the walk and the faults did exercise the engine: writes failed and orders were placed
    assert report["orders_total"] > 0
    assert sum(report["outcomes"].values()) >= 20
