from __future__ import annotations

from pathlib import Path

import pytest

from runner.journal import AccountLock, Journal, SecretRefused

from .helpers import start_run

SECRET = "ed25519:3vQB7B6MrGQZaxCuFg4oh8pRYbN2fwe6CUG5cZ7gD4cP"


def test_a_payload_holding_a_registered_secret_is_refused_and_nothing_is_written(
    journal: Journal,
) -> None:
    Journal.register_secret(SECRET)
    run_id = start_run(journal)
    with pytest.raises(SecretRefused) as refused:
        journal.record_intent(
            run_id,
            action_type="place_order",
            symbol="PERP_ETH_USDC",
            margin_mode="ISOLATED",
            client_order_id=None,
            payload={"headers": {"orderly-key": SECRET}},
        )
    assert SECRET not in str(refused.value)
    assert "payload" in str(refused.value)
    assert journal.intents(run_id) == []


def test_the_bare_key_of_a_prefixed_secret_is_refused_too(journal: Journal) -> None:
    journal.register_secret(SECRET)
    run_id = start_run(journal)
    bare = SECRET.removeprefix("ed25519:")
    with pytest.raises(SecretRefused, match="error"):
        journal.finish_run(run_id, outcome="failed", summary={}, error=f"bad key {bare}")
    record = journal.run(run_id)
    assert record is not None
    assert record.outcome is None


def test_a_secret_registered_once_guards_every_journal_of_the_process(
    journal: Journal, tmp_path: Path
) -> None:
    journal.register_secret(SECRET)
    with Journal.open(tmp_path / "other") as other:
        with pytest.raises(SecretRefused):
            start_run(other, playbook_path=f"/keys/{SECRET}.yaml")
        assert other.runs() == []
        with pytest.raises(SecretRefused):
            AccountLock(other, "acct-1", owner=f"runner {SECRET}").acquire()


def test_text_without_the_secret_is_written(journal: Journal) -> None:
    Journal.register_secret(SECRET)
    run_id = start_run(journal)
    journal.finish_run(run_id, outcome="in_sync", summary={"note": "ed25519 key loaded"})
    assert journal.runs()[0].outcome == "in_sync"


@pytest.mark.parametrize("short", ["", "abc", "1234567"])
def test_a_secret_too_short_to_tell_from_ordinary_text_is_not_registered(
    journal: Journal, short: str
) -> None:
    with pytest.raises(ValueError, match="at least"):
        Journal.register_secret(short)
    start_run(journal, playbook="abc")
