"""Where runner connects and as whom: networks, account profiles, credentials.

Networks: `sim` (the embedded simulator, or a `runner sim serve` instance given by
ORDERLY_BASE_URL), `testnet` (https://testnet-api.orderly.org) and `mainnet`
(https://api.orderly.org). ORDERLY_BASE_URL overrides the URL of any network; for testnet and
mainnet it must be https, and TLS certificates are always verified.

Credentials of a profile (the playbook's `account:`), first match wins:
  1. ORDERLY_<PROFILE>_ACCOUNT_ID and ORDERLY_<PROFILE>_SECRET (profile upper-cased, other
     characters than letters and digits turned into `_`: `main` -> ORDERLY_MAIN_SECRET);
  2. ORDERLY_ACCOUNT_ID and ORDERLY_SECRET;
  3. the key file ORDERLY_KEY_FILE, else ~/.config/runner/<profile>.key.
The profile's own variables come first so that one shell can hold several accounts; a pair
is always taken from one place (half a pair is an error, never completed from elsewhere).
A key file is JSON (`{"account_id": ..., "secret": ...}`) or `name = value` lines with `#`
comments, and is refused if its mode lets group or others read it.

This module must never print, log or put the secret into an error or a repr. `Credentials`
keeps the secret text only so that the journal can refuse to store it; signing goes through
`Credentials.signer`.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import stat
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from runner.errors import ConfigError
from runner.orderly.client import OrderlyClient
from runner.orderly.ratelimit import RateLimiter
from runner.orderly.signing import Signer

SIM = "sim"
NETWORKS: Mapping[str, str] = {
    "testnet": "https://testnet-api.orderly.org",
    "mainnet": "https://api.orderly.org",
}
DEFAULT_PROFILE = "main"
EMBEDDED_SOURCE = "embedded simulator"
DEFAULT_STATE_DIR = ".runner"
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_\-:]{1,128}")


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """RUNNER_STATE_DIR, else `.runner/` in the working directory."""
    env = os.environ if env is None else env
    return Path(env.get("RUNNER_STATE_DIR") or DEFAULT_STATE_DIR)


def default_key_file(profile: str) -> Path:
    return Path.home() / ".config" / "runner" / f"{profile}.key"


def profile_env_prefix(profile: str) -> str:
    """`main` -> `ORDERLY_MAIN_`; `eth-swing` -> `ORDERLY_ETH_SWING_`."""
    return "ORDERLY_" + re.sub(r"[^A-Za-z0-9]", "_", profile).upper() + "_"


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """An account id and its Orderly secret; `source` says where they were found.

    `secret` is kept only so that the journal can refuse any text that contains it; nothing
    else should read it (sign with `signer`). It is in no repr, str or pickle.
    """

    account_id: str
    secret: str
    source: str
    signer: Signer = field(init=False)

    def __post_init__(self) -> None:
        try:
            signer = Signer(self.secret)
        except ConfigError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None
        object.__setattr__(self, "signer", signer)

    @property
    def orderly_key(self) -> str:
        return self.signer.orderly_key

    def __repr__(self) -> str:
        return (
            f"Credentials(account_id={self.account_id!r}, orderly_key={self.orderly_key!r}, "
            f"source={self.source!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Credentials cannot be pickled (they hold a secret)")


def _credentials(account_id: str, secret: str, source: str) -> Credentials:
    account_id = account_id.strip()
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise ConfigError(f"the account id from {source} is empty or malformed")
    return Credentials(account_id, secret.strip(), source)


def _from_env(env: Mapping[str, str], prefix: str) -> Credentials | None:
    id_name, secret_name = f"{prefix}ACCOUNT_ID", f"{prefix}SECRET"
    account_id, secret = env.get(id_name, ""), env.get(secret_name, "")
    if not account_id and not secret:
        return None
    if not account_id or not secret:
        missing = id_name if not account_id else secret_name
        present = secret_name if not account_id else id_name
        raise ConfigError(f"{present} is set but {missing} is not: set both or neither")
    return _credentials(account_id, secret, f"environment variables {id_name}/{secret_name}")


def check_key_file_mode(path: Path) -> None:
    """Refuse a key file that group or others may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"key file {path} is accessible by group or others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )


def parse_key_file(text: str, path: Path) -> dict[str, str]:
    """The fields of a key file: JSON object, or `name = value` / `name: value` lines."""
    if text.lstrip().startswith("{"):
        try:
            document: Any = json.loads(text)
        except ValueError:
            raise ConfigError(f"key file {path} is not valid JSON") from None
        if not isinstance(document, dict):
            raise ConfigError(f"key file {path} must hold a JSON object")
        return {str(k): str(v) for k, v in document.items() if v is not None}
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z_]+)\s*[=:]\s*(.*)", line)
        if match is None:
            # Never quote the line: it may be the secret itself.
            raise ConfigError(f"key file {path}, line {number}: expected `name = value`")
        fields[match.group(1).lower()] = match.group(2).strip().strip("\"'")
    return fields


def read_key_file(path: Path) -> Credentials:
    """Credentials from a key file, after checking that only its owner can read it."""
    try:
        check_key_file_mode(path)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    fields = parse_key_file(text, path)
    if not fields.get("secret"):
        raise ConfigError(f"key file {path} has no `secret`")
    if not fields.get("account_id"):
        raise ConfigError(
            f"key file {path} has no `account_id`: add the account id the key is registered to"
        )
    return _credentials(fields["account_id"], fields["secret"], f"key file {path}")


KEY_FILE_HEADER = """\
# Orderly API key for runner. Keep this file private: chmod 600.
# 1. Register orderly_key with your Orderly account (scopes: read,trading).
# 2. Fill in account_id with the id of that account (0x...).
"""


def write_key_file(path: Path, secret: str) -> str:
    """Write a new key file readable by its owner only; refuse to overwrite. Returns the
    orderly-key to register."""
    orderly_key = Signer(secret).orderly_key
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = f"{KEY_FILE_HEADER}orderly_key = {orderly_key}\naccount_id =\nsecret = {secret}\n"
    try:
        # O_EXCL: never replace an existing key, which may be the only copy of a registered one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    return orderly_key


def load_credentials(profile: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials of `profile` (see the module docstring for the order), or None."""
    env = os.environ if env is None else env
    found = _from_env(env, profile_env_prefix(profile)) or _from_env(env, "ORDERLY_")
    if found is not None:
        return found
    explicit = env.get("ORDERLY_KEY_FILE")
    path = Path(explicit).expanduser() if explicit else default_key_file(profile)
    if explicit and not path.exists():
        raise ConfigError(f"ORDERLY_KEY_FILE names {path}, which does not exist")
    return read_key_file(path) if path.exists() else None


def _short(value: str) -> str:
    return value if len(value) <= 14 else f"{value[:8]}…{value[-4:]}"


@dataclass
class Connection:
    """An open client and what it is connected to. Close it with `aclose()` or `async with`."""

    client: OrderlyClient
    network: str
    base_url: str
    credentials: Credentials
    simulated: bool
    _resources: list[Any] = field(default_factory=list, repr=False)

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    def describe(self) -> str:
        """One line for people: where, which account, which key, credentials from where."""
        if self.simulated and self.credentials.source == EMBEDDED_SOURCE:
            where = f"embedded simulator ({self.base_url})"
        elif self.simulated:
            where = f"simulator at {self.base_url}"
        else:
            where = f"Orderly {self.network} ({self.base_url})"
        return (
            f"{where}, account {_short(self.account_id)}, key "
            f"{_short(self.credentials.orderly_key)}, credentials from {self.credentials.source}"
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        for resource in reversed(self._resources):
            closer = getattr(resource, "aclose", None) or getattr(resource, "close", None)
            if closer is not None:
                result = closer()
                if inspect.isawaitable(result):
                    await result

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Connecting:
    """What `connect()` returns: await it for a Connection, or use it with `async with`."""

    def __init__(self, opener: Callable[[], Awaitable[Connection]]) -> None:
        self._opener = opener
        self._connection: Connection | None = None

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._opener().__await__()

    async def __aenter__(self) -> Connection:
        self._connection = await self._opener()
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            await self._connection.aclose()
            self._connection = None


def connect(
    network: str,
    profile: str = DEFAULT_PROFILE,
    *,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    rate_limiter: RateLimiter | None = None,
) -> Connecting:
    """Open a client for `network` as `profile`: `await connect(...)` or
    `async with connect(...) as connection`.

    `sim` without ORDERLY_BASE_URL runs the simulator in-process, with its state under
    `state_dir` (default: RUNNER_STATE_DIR or `.runner/`) and its default account.
    """
    return Connecting(lambda: _open(network, profile, state_dir, env, rate_limiter))


async def _open(
    network: str,
    profile: str,
    state_dir: Path | None,
    env: Mapping[str, str] | None,
    rate_limiter: RateLimiter | None,
) -> Connection:
    env = os.environ if env is None else env
    network = network.strip().lower()
    if network != SIM and network not in NETWORKS:
        raise ConfigError(f"unknown network {network!r}: use sim, testnet or mainnet")
    override = env.get("ORDERLY_BASE_URL", "").strip().rstrip("/")
    if network == SIM and not override:
        return await _open_embedded(state_dir or default_state_dir(env), rate_limiter)
    base_url = override or NETWORKS[network]
    if network != SIM and not base_url.startswith("https://"):
        raise ConfigError(
            f"ORDERLY_BASE_URL for {network} must be an https:// URL, not {base_url!r}"
        )
    credentials = load_credentials(profile, env)
    if credentials is None:
        prefix = profile_env_prefix(profile)
        raise ConfigError(
            f"no credentials for profile {profile!r} on {network}: set {prefix}ACCOUNT_ID and "
            f"{prefix}SECRET (or ORDERLY_ACCOUNT_ID and ORDERLY_SECRET), or write a key file "
            f"at {default_key_file(profile)} (see `runner keys generate`)"
        )
    client = OrderlyClient(
        base_url,
        account_id=credentials.account_id,
        signer=credentials.signer,
        rate_limiter=rate_limiter,
        verify=True,  # never configurable: these requests move real money
    )
    return Connection(client, network, base_url, credentials, simulated=network == SIM)


async def _open_embedded(state_dir: Path, rate_limiter: RateLimiter | None) -> Connection:
    # Imported here so that only the embedded case pays for the simulator.
    from runner.sim.embedded import open_embedded

    sim: Any = open_embedded(state_dir)  # it keeps its files in state_dir/sim/
    if inspect.isawaitable(sim):
        sim = await sim
    credentials = Credentials(sim.account_id, sim.secret, EMBEDDED_SOURCE)
    client = OrderlyClient(
        sim.base_url,
        account_id=credentials.account_id,
        signer=credentials.signer,
        transport=sim.transport,
        rate_limiter=rate_limiter,
    )
    return Connection(client, SIM, sim.base_url, credentials, simulated=True, _resources=[sim])
