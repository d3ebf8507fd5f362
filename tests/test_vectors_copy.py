"""The signing vectors the tests use are the shared ones, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "vectors" / "signing_vectors.json"


@pytest.mark.skipif(not SHARED.exists(), reason="no shared/ folder beside this checkout")
def test_the_vectors_copy_matches_the_shared_file() -> None:
    assert (ROOT / "tests" / "vectors" / "signing_vectors.json").read_bytes() == SHARED.read_bytes()
