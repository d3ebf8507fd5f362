"""The embedded simulator: the default backend when no exchange credentials are given.

open_embedded(state_dir) opens (or creates) the exchange in state_dir/sim/: the SQLite
state, an admin token file and a default account funded with 10,000 USDC whose key is kept
in a 0600 file. Calling it again on the same directory reuses all of them. The secret is only
ever read from and written to that file; it must never be printed or logged.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from starlette.applications import Starlette

from runner.sim import accounts
from runner.sim.app import create_app
from runner.sim.engine import Engine
from runner.sim.transport import InProcessTransport

BASE_URL = "http://sim.invalid"
DEFAULT_BALANCE = Decimal(10000)
ADMIN_TOKEN_FILE = "admin-token"
ACCOUNT_FILE = "default-account.json"


@dataclass(frozen=True, slots=True)
class EmbeddedSim:
    app: Starlette
    transport: InProcessTransport
    base_url: str
    account_id: str
    secret: str
    orderly_key: str
    admin_token: str

    def __repr__(self) -> str:
        # never show the secret or the admin token
        return f"EmbeddedSim(base_url={self.base_url!r}, account_id={self.account_id!r})"


def write_private_file(path: Path, text: str) -> None:
    """Create or replace a file readable by its owner only (0600 from the first byte)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def read_or_create_token(path: Path) -> str:
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    write_private_file(path, token + "\n")
    return token


def _ensure_default_account(engine: Engine, key_file: Path) -> tuple[str, str, str]:
    if key_file.exists():
        saved = json.loads(key_file.read_text(encoding="utf-8"))
        account_id, secret, orderly_key = saved["account_id"], saved["secret"], saved["orderly_key"]
    else:
        secret, orderly_key = accounts.new_key_pair()
        account_id = "0x" + secrets.token_hex(32)
        write_private_file(
            key_file,
            json.dumps({"account_id": account_id, "secret": secret, "orderly_key": orderly_key}),
        )

    def ensure(now: int) -> None:
        if account_id not in engine.state.accounts:
            accounts.create_account(engine, account_id, DEFAULT_BALANCE, now)
        if accounts.normalise_orderly_key(orderly_key) not in engine.state.keys:
            accounts.register_key(engine, account_id, orderly_key, accounts.DEFAULT_SCOPE, now)

    engine.write(ensure)
    return account_id, secret, orderly_key


def open_embedded(state_dir: Path, *, rate_limits: bool = True) -> EmbeddedSim:
    """The in-process exchange kept in state_dir/sim/, with its default account."""
    sim_dir = Path(state_dir) / "sim"
    sim_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(sim_dir, 0o700)
    token = read_or_create_token(sim_dir / ADMIN_TOKEN_FILE)
    app = create_app(state_dir=sim_dir, admin_token=token, rate_limits=rate_limits)
    engine: Engine = app.state.sim
    account_id, secret, orderly_key = _ensure_default_account(engine, sim_dir / ACCOUNT_FILE)
    return EmbeddedSim(
        app=app,
        transport=InProcessTransport(app),
        base_url=BASE_URL,
        account_id=account_id,
        secret=secret,
        orderly_key=orderly_key,
        admin_token=token,
    )
