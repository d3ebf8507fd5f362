"""SQLite persistence of the simulator's state, so restarts and successive processes share it.

Records are stored as JSON (Decimals as exact text) in one table keyed by (kind, key); the
engine keeps everything in memory, writes the records it changed at the end of each write
operation, and reloads when another connection committed (PRAGMA data_version). This module
knows rows and transactions only: it must never apply exchange rules.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS obj (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
"""

_DECIMAL_FIELDS: dict[type, frozenset[str]] = {}


def _decimal_fields(cls: type) -> frozenset[str]:
    cached = _DECIMAL_FIELDS.get(cls)
    if cached is None:
        cached = frozenset(f.name for f in dataclasses.fields(cls) if "Decimal" in str(f.type))
        _DECIMAL_FIELDS[cls] = cached
    return cached


def record_to_json(record: Any) -> str:
    """A dataclass record as JSON text; Decimals become exact strings."""
    decimals = _decimal_fields(type(record))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name in decimals and value is not None:
            value = str(value)
        out[f.name] = value
    return json.dumps(out, separators=(",", ":"))


def record_from_json(cls: type[T], text: str) -> T:
    """The inverse of record_to_json."""
    raw = json.loads(text)
    decimals = _decimal_fields(cls)
    for name in decimals:
        if raw.get(name) is not None:
            raw[name] = Decimal(raw[name])
    return cls(**raw)


class Store:
    """One SQLite connection (WAL) behind a lock; `None` path means in-memory."""

    def __init__(self, path: Path | None) -> None:
        self.lock = threading.RLock()
        target = ":memory:" if path is None else str(path)
        self._conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        if path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._seen_version = self.data_version()

    def data_version(self) -> int:
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def changed_elsewhere(self) -> bool:
        """True once after another connection committed since we last looked."""
        version = self.data_version()
        if version != self._seen_version:
            self._seen_version = version
            return True
        return False

    def load_all(self) -> dict[str, dict[str, str]]:
        """kind -> key -> JSON text."""
        out: dict[str, dict[str, str]] = {}
        for kind, key, value in self._conn.execute("SELECT kind, key, value FROM obj"):
            out.setdefault(kind, {})[key] = value
        return out

    @contextmanager
    def write(self) -> Iterator[None]:
        """An immediate transaction: other processes wait until it commits."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        # our own commit does not change data_version for this connection
        self._seen_version = self.data_version()

    def put_many(self, rows: list[tuple[str, str, str]]) -> None:
        self._conn.executemany(
            "INSERT INTO obj(kind, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
            rows,
        )

    def close(self) -> None:
        self._conn.close()
