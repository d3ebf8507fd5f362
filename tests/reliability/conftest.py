"""Fixtures of the reliability tests: a simulator served over HTTP by `runner sim serve`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import ServedSim, serve_sim


@pytest.fixture(scope="module")
def served_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSim]:
    yield from serve_sim(tmp_path_factory.mktemp("served-sim"))
