"""No command ever writes the account secret anywhere: not to stdout or stderr, not to logs,
not to JSON plans, not to the journal or any other file of the state directory.

Every command runs as a real process with a KNOWN secret, once against `runner sim serve`
over HTTP (secret in ORDERLY_SECRET) and once against the embedded simulator (secret in its
key file in the state dir). The secret is searched in three forms: the full `ed25519:...`
text, its bare base58 part, and the hex (and base64) of the key bytes.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import base58
import pytest

from .helpers import RUNNER, ServedSim

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "eth-isolated.yaml"  # has a schedule, margin rules and guards
KEY_FILES = {"default-account.json"}


def secret_forms(secret: str) -> list[str]:
    bare = secret.split(":", 1)[-1]
    raw = base58.b58decode(bare)
    forms = {secret, bare, raw.hex(), raw[:32].hex(), raw.hex().upper()}
    forms |= {base64.b64encode(raw[:32]).decode(), base64.urlsafe_b64encode(raw[:32]).decode()}
    return sorted(forms)


def commands(url: str | None) -> list[list[str]]:
    pb = str(PLAYBOOK)
    cmds = [
        ["validate", pb],
        ["plan", pb],
        ["plan", pb, "--json"],
        ["apply", pb, "--auto-approve"],
        ["apply", pb, "--auto-approve", "--json"],
        ["status", pb],
        ["history"],
        ["history", "--json"],
        ["keys", "show"],
        ["schedule", "--once", pb],
        ["schedule", "--once", "--log-format", "json", pb],
    ]
    if url is not None:
        cmds.append(["sim", "state", "--url", url, "--admin-token", "reliability-admin-token"])
    return cmds


def run_all(env: dict[str, str], cwd: Path, url: str | None) -> list[tuple[list[str], str]]:
    outputs = []
    for argv in commands(url):
        # the embedded simulator's key is no profile: `keys show` says so (exit 1)
        allowed = (0, 1) if url is None and argv[0] == "keys" else (0, 2, 3)
        done = subprocess.run(
            [*RUNNER, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
        )
        text = done.stdout + done.stderr
        assert "Traceback" not in text, (argv, text)
        assert done.returncode in allowed, (argv, done.returncode, text[-800:])
        outputs.append((argv, text))
    return outputs


def state_texts(state_dir: Path) -> list[tuple[str, str]]:
    """Every file of the state dir as text; SQLite databases dumped table by table."""
    texts = []
    for path in sorted(state_dir.rglob("*")):
        if not path.is_file() or path.name in KEY_FILES:
            continue
        if path.suffix == ".sqlite3":
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                texts.append((str(path), "\n".join(conn.iterdump())))
            finally:
                conn.close()
        else:  # WAL/SHM files and caches: raw bytes, decoded leniently
            texts.append((str(path), path.read_bytes().decode("latin-1")))
    assert any(name.endswith("journal.sqlite3") for name, _ in texts)
    return texts


def assert_nowhere(secret: str, places: list[tuple[str, str]]) -> None:
    for form in secret_forms(secret):
        for where, text in places:
            assert form not in text, f"the secret appears in {where}"


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERLY_", "RUNNER_"))}
    env.update(RUNNER_STATE_DIR=str(tmp_path / "state"), HOME=str(tmp_path / "home"))
    return env


def test_no_command_leaks_a_secret_given_in_the_environment(
    served_sim: ServedSim, tmp_path: Path
) -> None:
    account_id, secret, _key = served_sim.create_account()
    env = base_env(tmp_path)
    env.update(
        ORDERLY_BASE_URL=served_sim.url, ORDERLY_ACCOUNT_ID=account_id, ORDERLY_SECRET=secret
    )
    outputs = run_all(env, tmp_path, served_sim.url)
    assert any(account_id[:8] in text for _argv, text in outputs)  # they did talk to it
    assert_nowhere(secret, [(" ".join(a), t) for a, t in outputs])
    assert_nowhere(secret, state_texts(tmp_path / "state"))


def test_no_command_leaks_the_embedded_simulators_secret(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    outputs = run_all(env, tmp_path, None)
    key_file = tmp_path / "state" / "sim" / "default-account.json"
    secret = json.loads(key_file.read_text())["secret"]
    assert_nowhere(secret, [(" ".join(a), t) for a, t in outputs])
    assert_nowhere(secret, state_texts(tmp_path / "state"))


@pytest.mark.parametrize("form", [0, 1, 2])
def test_the_scan_finds_a_planted_secret(tmp_path: Path, form: int) -> None:
    """The scanner itself can fail: a secret written into the journal is found."""
    secret = "ed25519:" + base58.b58encode(bytes(range(32))).decode()
    state = tmp_path / "state"
    state.mkdir()
    conn = sqlite3.connect(state / "journal.sqlite3")
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (secret_forms(secret)[form],))
    conn.commit()
    conn.close()
    with pytest.raises(AssertionError, match="the secret appears"):
        assert_nowhere(secret, state_texts(state))
