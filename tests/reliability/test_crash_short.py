"""A short run of bench/crash.py in the default suite: `runner apply` killed with SIGKILL
(over HTTP to `runner sim serve`), then run again, places nothing twice and converges."""

from __future__ import annotations

from pathlib import Path

import crash


def test_applies_killed_at_random_points_recover_without_duplicates(tmp_path: Path) -> None:
    report = crash.run_crash(3, 5, tmp_path)
    assert report["trials"] == 3
    assert sum(report["died_at"].values()) == 3
    assert report["duplicates"] == 0, report["findings"]
    assert report["violations"] == 0, report["findings"]
    assert report["converged"], report["convergence"]
