from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.journal import db
from runner.scheduler.logs import configure_logging, remove_logging

from .helpers import EventLines


@pytest.fixture(autouse=True)
def _no_registered_secrets() -> Iterator[None]:
    # The journal's secret registry is process-wide; keep each test's secrets to that test.
    db.forget_secrets()
    yield
    db.forget_secrets()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def events() -> Iterator[EventLines]:
    lines = EventLines()
    handler = configure_logging(lines.stream, "json")
    yield lines
    remove_logging(handler)
