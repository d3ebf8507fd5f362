"""`runner sim`: serve the built-in Orderly-compatible simulator, or drive a running one.

Commands parse arguments and print results; serving lives in runner.sim.server and the admin
calls are plain HTTP to the /sim routes. Secrets are never printed except the one a user asks
for by creating an account (it is shown once, like an exchange shows a new API secret).
"""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from runner.errors import ConfigError

TOKEN_ENV = "RUNNER_SIM_ADMIN_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8787"
TOKEN_FILE = "admin-token"


def _write_token(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)


def _resolve_token(token: str | None, state_dir: Path | None, *, create: bool) -> str:
    if token:
        return token
    from_env = os.environ.get(TOKEN_ENV)
    if from_env:
        return from_env
    if state_dir is not None:
        path = state_dir / TOKEN_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        if create:
            state_dir.mkdir(parents=True, exist_ok=True)
            fresh = secrets.token_urlsafe(32)
            _write_token(path, fresh)
            return fresh
    raise ConfigError(
        f"no admin token: pass --admin-token, set {TOKEN_ENV} or give --state-dir of the server"
    )


@click.group()
def sim() -> None:
    """Run or drive the built-in Orderly-compatible exchange simulator."""


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--state-dir", required=True, type=click.Path(path_type=Path))
@click.option(
    "--admin-token", default=None, help=f"Default: ${TOKEN_ENV} or STATE_DIR/admin-token."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the mark-price walk.")
@click.option("--no-rate-limits", is_flag=True, help="Do not enforce Orderly's rate limits.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host.")
def serve(
    host: str,
    port: int,
    state_dir: Path,
    admin_token: str | None,
    seed: int,
    no_rate_limits: bool,
    allow_remote: bool,
) -> None:
    """Serve the simulator over HTTP (loopback only unless --allow-remote)."""
    from runner.sim.app import create_app
    from runner.sim.server import is_loopback, make_server

    if not allow_remote and not is_loopback(host):
        raise click.UsageError(f"--host {host} is not a loopback address; add --allow-remote")
    token = _resolve_token(admin_token, state_dir, create=True)
    app = create_app(
        state_dir=state_dir, admin_token=token, seed=seed, rate_limits=not no_rate_limits
    )
    server = make_server(app, host, port, allow_remote=allow_remote, log_level="info")
    click.echo(f"simulator on http://{host}:{port} (state in {state_dir})", err=True)
    server.run()


def _admin_options(func: Any) -> Any:
    func = click.option("--url", default=DEFAULT_URL, show_default=True)(func)
    func = click.option("--admin-token", default=None)(func)
    func = click.option(
        "--state-dir",
        default=None,
        type=click.Path(path_type=Path),
        help="State dir of the server, to read its admin-token file.",
    )(func)
    return func


def _call(
    url: str,
    token: str | None,
    state_dir: Path | None,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> Any:
    import httpx

    admin = _resolve_token(token, state_dir, create=False)
    content = json.dumps(body, default=str).encode() if body is not None else None
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            content=content,
            timeout=10.0,
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach the simulator at {url}: {exc}") from None
    payload = json.loads(response.content, parse_float=Decimal)
    if not payload.get("success"):
        raise ConfigError(f"simulator refused: {payload.get('code')} {payload.get('message')}")
    return payload.get("data")


def _show(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@sim.group()
def account() -> None:
    """Accounts of a running simulator."""


@account.command("create")
@click.option("--balance", default="10000", show_default=True)
@click.option("--account-id", default=None)
@click.option("--orderly-key", default=None, help="Register this public key instead of a new one.")
@_admin_options
def account_create(
    balance: str,
    account_id: str | None,
    orderly_key: str | None,
    url: str,
    admin_token: str | None,
    state_dir: Path | None,
) -> None:
    """Create a funded account (prints its id, key and, for a generated key, the secret)."""
    body: dict[str, Any] = {"balance": balance}
    if account_id:
        body["account_id"] = account_id
    if orderly_key:
        body["orderly_key"] = orderly_key
    _show(_call(url, admin_token, state_dir, "POST", "/sim/accounts", body))


@sim.command()
@click.argument("symbol")
@click.argument("price")
@_admin_options
def price(
    symbol: str, price: str, url: str, admin_token: str | None, state_dir: Path | None
) -> None:
    """Set the mark price of SYMBOL."""
    _show(
        _call(
            url,
            admin_token,
            state_dir,
            "POST",
            "/sim/prices",
            {"symbol": symbol, "mark_price": price},
        )
    )


@sim.command()
@click.option("--advance-ms", required=True, type=int)
@_admin_options
def clock(advance_ms: int, url: str, admin_token: str | None, state_dir: Path | None) -> None:
    """Move the simulator's clock forward."""
    _show(_call(url, admin_token, state_dir, "POST", "/sim/clock", {"advance_ms": advance_ms}))


@sim.command()
@click.option("--latency-ms", type=int, default=None)
@click.option("--error-rate", type=float, default=None)
@click.option("--rate-limit/--no-rate-limit", default=None, help="Enforce Orderly's limits.")
@click.option("--rate-limit-rate", type=float, default=None, help="Probability of a forced 429.")
@click.option("--drop-response-rate", type=float, default=None)
@click.option("--seed", type=int, default=None)
@_admin_options
def faults(
    latency_ms: int | None,
    error_rate: float | None,
    rate_limit: bool | None,
    rate_limit_rate: float | None,
    drop_response_rate: float | None,
    seed: int | None,
    url: str,
    admin_token: str | None,
    state_dir: Path | None,
) -> None:
    """Inject latency, 5xx errors, 429s or lost responses on /v1 routes."""
    body = {
        name: value
        for name, value in (
            ("latency_ms", latency_ms),
            ("error_rate", error_rate),
            ("rate_limit", rate_limit),
            ("rate_limit_rate", rate_limit_rate),
            ("drop_response_rate", drop_response_rate),
            ("seed", seed),
        )
        if value is not None
    }
    _show(_call(url, admin_token, state_dir, "POST", "/sim/faults", body))


@sim.command()
@_admin_options
def state(url: str, admin_token: str | None, state_dir: Path | None) -> None:
    """Show accounts, balances, positions, open orders, marks and faults (no secrets)."""
    _show(_call(url, admin_token, state_dir, "GET", "/sim/state"))
