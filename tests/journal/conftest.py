from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.journal import Journal, db

from .helpers import FakeClock


@pytest.fixture(autouse=True)
def _no_registered_secrets() -> Iterator[None]:
    # The registry is process-wide by design; keep each test's secrets to that test.
    db.forget_secrets()
    yield
    db.forget_secrets()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def journal(state_dir: Path, clock: FakeClock) -> Iterator[Journal]:
    with Journal.open(state_dir, clock=clock) as opened:
        yield opened
