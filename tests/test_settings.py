"""Networks, profiles and credentials: found in the documented order, refused when unsafe,
never shown."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from runner.cli.main import main
from runner.errors import ConfigError
from runner.orderly.signing import Signer, generate_secret
from runner.settings import (
    Credentials,
    connect,
    default_key_file,
    default_state_dir,
    load_credentials,
    profile_env_prefix,
    read_key_file,
)

ACCOUNT = "0x" + "ab" * 32
OTHER = "0x" + "cd" * 32


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and no ORDERLY_* variables from the surrounding shell."""
    for name in list(os.environ):
        if name.startswith(("ORDERLY_", "RUNNER_STATE_DIR")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def key_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_profile_variables_win_over_generic_ones_which_win_over_the_key_file() -> None:
    mine, generic = generate_secret(), generate_secret()
    key_file(
        default_key_file("main"), json.dumps({"account_id": OTHER, "secret": generate_secret()})
    )
    env = {"ORDERLY_ACCOUNT_ID": OTHER, "ORDERLY_SECRET": generic}
    found = load_credentials("main", env)
    assert found is not None and found.orderly_key == Signer(generic).orderly_key
    env |= {"ORDERLY_MAIN_ACCOUNT_ID": ACCOUNT, "ORDERLY_MAIN_SECRET": mine}
    found = load_credentials("main", env)
    assert found is not None and found.account_id == ACCOUNT
    assert found.source == "environment variables ORDERLY_MAIN_ACCOUNT_ID/ORDERLY_MAIN_SECRET"
    assert profile_env_prefix("eth-swing") == "ORDERLY_ETH_SWING_"


def test_half_a_pair_is_an_error_naming_the_missing_variable() -> None:
    with pytest.raises(ConfigError, match="ORDERLY_MAIN_SECRET"):
        load_credentials("main", {"ORDERLY_MAIN_ACCOUNT_ID": ACCOUNT})


def test_key_file_in_json_or_lines_is_read(tmp_path: Path) -> None:
    secret = generate_secret()
    as_json = key_file(tmp_path / "a.key", json.dumps({"account_id": ACCOUNT, "secret": secret}))
    as_lines = key_file(tmp_path / "b.key", f"# mine\naccount_id = {ACCOUNT}\nsecret: {secret}\n")
    for path in (as_json, as_lines):
        found = read_key_file(path)
        assert found.account_id == ACCOUNT and found.orderly_key == Signer(secret).orderly_key
    found = load_credentials("x", {"ORDERLY_KEY_FILE": str(as_lines)})
    assert found is not None and found.source == f"key file {as_lines}"


def test_key_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    secret = generate_secret()
    path = key_file(
        tmp_path / "open.key", json.dumps({"account_id": ACCOUNT, "secret": secret}), mode=0o644
    )
    with pytest.raises(ConfigError) as info:
        read_key_file(path)
    assert str(path) in str(info.value) and f"chmod 600 {path}" in str(info.value)
    assert secret not in str(info.value)


def test_malformed_key_file_line_is_refused_without_quoting_it(tmp_path: Path) -> None:
    secret = generate_secret()
    path = key_file(tmp_path / "bad.key", f"account_id = {ACCOUNT}\n{secret}\n")
    with pytest.raises(ConfigError, match="line 2") as info:
        read_key_file(path)
    assert secret.removeprefix("ed25519:") not in str(info.value)


def test_credentials_never_show_the_secret() -> None:
    secret = generate_secret()
    credentials = Credentials(ACCOUNT, secret, "test")
    seed = secret.removeprefix("ed25519:")
    assert seed not in repr(credentials) and seed not in str(credentials)
    assert credentials.orderly_key in repr(credentials)
    with pytest.raises(TypeError):
        pickle.dumps(credentials)


async def test_real_network_without_credentials_says_what_to_set() -> None:
    with pytest.raises(ConfigError) as info:
        await connect("testnet", "main", env={})
    text = str(info.value)
    assert "ORDERLY_MAIN_ACCOUNT_ID" in text and "ORDERLY_MAIN_SECRET" in text
    assert "main.key" in text


async def test_real_network_refuses_a_plain_http_override() -> None:
    env = {
        "ORDERLY_BASE_URL": "http://127.0.0.1:8080",
        "ORDERLY_ACCOUNT_ID": ACCOUNT,
        "ORDERLY_SECRET": generate_secret(),
    }
    with pytest.raises(ConfigError, match="https"):
        await connect("mainnet", "main", env=env)
    with pytest.raises(ConfigError, match="unknown network"):
        await connect("devnet", "main", env=env)


async def test_mainnet_connection_describes_itself_without_secrets() -> None:
    secret = generate_secret()
    env = {"ORDERLY_MAIN_ACCOUNT_ID": ACCOUNT, "ORDERLY_MAIN_SECRET": secret}
    async with connect("mainnet", "main", env=env) as connection:
        assert connection.base_url == "https://api.orderly.org"
        assert connection.simulated is False and connection.account_id == ACCOUNT
        text = connection.describe()
    assert text.startswith("Orderly mainnet (https://api.orderly.org), account 0xababab")
    assert "ORDERLY_MAIN_ACCOUNT_ID" in text and secret.removeprefix("ed25519:") not in text


async def test_sim_with_a_base_url_uses_it_with_the_profile_credentials() -> None:
    env = {
        "ORDERLY_BASE_URL": "http://127.0.0.1:8000/",
        "ORDERLY_ACCOUNT_ID": ACCOUNT,
        "ORDERLY_SECRET": generate_secret(),
    }
    connection = await connect("sim", "main", env=env)
    try:
        assert connection.simulated and connection.base_url == "http://127.0.0.1:8000"
        assert connection.describe().startswith("simulator at http://127.0.0.1:8000")
    finally:
        await connection.aclose()


async def test_sim_without_a_base_url_runs_the_embedded_simulator(tmp_path: Path) -> None:
    async with connect("sim", "main", state_dir=tmp_path / "state", env={}) as connection:
        assert connection.simulated
        assert connection.describe().startswith("embedded simulator")
        (holding,) = await connection.client.get_holding()
        assert holding.holding > 0
        first = connection.account_id
    async with connect("sim", "other", state_dir=tmp_path / "state", env={}) as again:
        assert again.account_id == first  # the same exchange and default account
    assert (tmp_path / "state" / "sim" / "exchange.sqlite3").is_file()
    assert not (tmp_path / "state" / "sim" / "sim").exists()


def test_state_dir_defaults_to_dot_runner_or_the_variable() -> None:
    assert default_state_dir({}) == Path(".runner")
    assert default_state_dir({"RUNNER_STATE_DIR": "/x"}) == Path("/x")


def test_keys_generate_writes_a_private_file_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keys" / "new.key"
    with pytest.raises(SystemExit) as done:
        main(["keys", "generate", "--out", str(out)])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text()
    secret_line = next(line for line in text.splitlines() if line.startswith("secret"))
    secret = secret_line.split("=", 1)[1].strip()
    assert Signer(secret).orderly_key in printed
    assert secret.removeprefix("ed25519:") not in printed
    with pytest.raises(SystemExit) as again:
        main(["keys", "generate", "--out", str(out)])
    assert again.value.code == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert out.read_text() == text


def test_keys_show_prints_the_public_key_of_the_profile(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = generate_secret()
    monkeypatch.setenv("ORDERLY_HEDGE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("ORDERLY_HEDGE_SECRET", secret)
    with pytest.raises(SystemExit) as done:
        main(["keys", "show", "--profile", "hedge"])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert Signer(secret).orderly_key in printed and ACCOUNT in printed
    assert secret.removeprefix("ed25519:") not in printed
    with pytest.raises(SystemExit) as missing:
        main(["keys", "show", "--profile", "nobody"])
    assert missing.value.code == 1
    assert "ORDERLY_NOBODY_ACCOUNT_ID" in capsys.readouterr().err
