"""SQLite plumbing for the journal: connection settings, schema migrations, JSON, secrets.

Every connection runs in WAL mode with a busy timeout so that `runner apply`, the scheduler and
`runner history` can share one file across processes, and with `synchronous=FULL` so that a
committed intent is on disk before the write it announces is sent. Schema changes are numbered
migrations tracked in `PRAGMA user_version`, applied under `BEGIN IMMEDIATE` so that two
processes opening a fresh journal at once cannot both apply them.

This module must never write a value that contains a registered secret: `check_no_secret` is
called on every text value before it reaches SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from runner.journal.errors import JournalError, SecretRefused

# Each migration is a tuple of statements (not a script: executescript would commit on its own,
# outside the migration's transaction). Never edit a released migration; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE runs (
            run_id          INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at      TEXT    NOT NULL,
            started_at_ms   INTEGER NOT NULL,
            finished_at     TEXT,
            playbook        TEXT    NOT NULL,
            playbook_path   TEXT    NOT NULL,
            account_id      TEXT    NOT NULL,
            network         TEXT    NOT NULL,
            mode            TEXT    NOT NULL,
            git_commit      TEXT,
            git_dirty       INTEGER,
            pid             INTEGER NOT NULL,
            host            TEXT    NOT NULL,
            outcome         TEXT,
            summary         TEXT,
            error           TEXT
        )
        """,
        "CREATE INDEX runs_by_playbook ON runs (playbook, run_id)",
        "CREATE INDEX runs_by_account ON runs (account_id, run_id)",
        """
        CREATE TABLE intents (
            intent_id       INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id          INTEGER NOT NULL REFERENCES runs (run_id),
            recorded_at     TEXT    NOT NULL,
            recorded_at_ms  INTEGER NOT NULL,
            action_type     TEXT    NOT NULL,
            symbol          TEXT    NOT NULL,
            margin_mode     TEXT    NOT NULL,
            client_order_id TEXT,
            payload         TEXT    NOT NULL,
            status          TEXT,
            detail          TEXT,
            outcome_at      TEXT,
            resolution      TEXT,
            resolved_at     TEXT,
            resolved_by_run INTEGER REFERENCES runs (run_id)
        )
        """,
        "CREATE INDEX intents_by_run ON intents (run_id)",
        "CREATE INDEX intents_open ON intents (status, run_id)",
        """
        CREATE TABLE filled_orders (
            account_id      TEXT    NOT NULL,
            client_order_id TEXT    NOT NULL,
            filled_at_ms    INTEGER NOT NULL,
            recorded_at     TEXT    NOT NULL,
            PRIMARY KEY (account_id, client_order_id)
        )
        """,
        """
        CREATE TABLE locks (
            account_id      TEXT    PRIMARY KEY,
            owner           TEXT,
            pid             INTEGER NOT NULL,
            host            TEXT    NOT NULL,
            acquired_at     TEXT    NOT NULL,
            acquired_at_ms  INTEGER NOT NULL,
            expires_at_ms   INTEGER NOT NULL,
            token           TEXT    NOT NULL
        )
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, busy_timeout_s: float) -> sqlite3.Connection:
    """Open (creating if needed) the journal at `path`, configured and migrated."""
    try:
        # isolation_level=None: no implicit transactions; we open them ourselves, short.
        # check_same_thread=False: the Journal serialises access with its own mutex, so a
        # scheduler thread pool or asyncio.to_thread may share one connection.
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open the journal {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: in WAL mode NORMAL may lose the last commits on power loss, and an intent
        # must survive whatever happens after its write is sent.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise JournalError(f"cannot open the journal {path}: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION; a no-op (and no write lock) when it is there."""
    if user_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        current = user_version(conn)
        if current > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {path} has schema version {current}, newer than this runner "
                f"understands ({SCHEMA_VERSION}); upgrade runner or use another state directory"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
        # PRAGMA user_version is stored in the database header, inside this transaction.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# --- time -------------------------------------------------------------------------------------


def to_ms(seconds: float) -> int:
    return int(seconds * 1000)


def iso_utc(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with a `Z`, e.g. 2025-01-02T03:04:05.678Z."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- JSON -------------------------------------------------------------------------------------


def _encode_default(value: object) -> Any:
    if isinstance(value, Decimal):
        # Fixed-point text, never float and never exponent form: "0.00000001", not "1E-8".
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the journal")


def to_json(value: object) -> str:
    """Serialise for storage: Decimals as strings, keys sorted so equal values compare equal."""
    return json.dumps(
        value,
        default=_encode_default,
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def from_json(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text, parse_float=Decimal)


# --- secrets ----------------------------------------------------------------------------------

# Process-wide on purpose: every Journal and lock in the process refuses a secret registered
# once at start-up, whichever object the caller happened to register it on.
_SECRETS: set[str] = set()
_SECRETS_MUTEX = threading.Lock()
MIN_SECRET_LENGTH = 8


def register_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        # A short "secret" would match ordinary text and refuse every write.
        raise ValueError(f"a secret to guard must be at least {MIN_SECRET_LENGTH} characters long")
    forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}
    # Orderly keys are written "ed25519:<base58>"; guard the bare key as well.
    prefix, sep, rest = secret.partition(":")
    if sep and prefix.isalnum() and len(rest) >= MIN_SECRET_LENGTH:
        forms.add(rest)
    with _SECRETS_MUTEX:
        _SECRETS.update(forms)


def forget_secrets() -> None:
    """Drop every registered secret (for tests; a running program has no reason to)."""
    with _SECRETS_MUTEX:
        _SECRETS.clear()


def check_no_secret(fields: Iterable[tuple[str, object]]) -> None:
    """Raise SecretRefused if any text value contains a registered secret."""
    with _SECRETS_MUTEX:
        secrets = tuple(_SECRETS)
    if not secrets:
        return
    for name, value in fields:
        if isinstance(value, str) and any(secret in value for secret in secrets):
            raise SecretRefused(
                f"refused to write {name} to the journal: it contains a registered secret "
                "(nothing was written; this is a bug in runner, please report it)"
            )
