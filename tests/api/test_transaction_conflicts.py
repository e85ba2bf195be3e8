"""A transaction DynamoDB cancelled for another one in flight on an item (TransactionConflict) is no
stale version: the one optimistic-write loop tries it again, with jittered, capped backoff, even for a
caller that pinned the version it read; only a write that loses every attempt is a 409. The conflicts
are DynamoDB's own answers to the app's calls (tests/faults.py, `faults.answering`)."""

from __future__ import annotations

import pytest

from chalicelib.store import exchanges as exchange_store
from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchanges import _submitted, _validated, get, post, run_effects
from tests.faults import everything_stored

pair = test_exchanges.pair


def _ready_to_sign(client, pair, aws):
    path = _validated(client, pair)
    run_effects(aws)
    sha = body(get(client, f"{path}/documents", pair.visitor))["items"][0]["sha256"]
    return path, {"document": "commitment_to_quality", "sha256": sha}


def test_a_transient_transaction_conflict_on_signing_is_retried_and_counts_once(client, pair, aws, faults):
    # Given a validated exchange
    path, signature = _ready_to_sign(client, pair, aws)
    # When another transaction holds the item for the first two attempts
    with faults.answering("TransactionCanceledException", times=2, reason="TransactionConflict") as conflict:
        response = post(client, f"{path}/signatures", pair.visitor, signature)
    # Then the third attempt signs, once
    assert response.status_code == 200, response.body
    assert conflict.answered == ["TransactWriteItems"] * 2 and conflict.passed == ["TransactWriteItems"]
    stored = exchange_store.get(path.rsplit("/", 1)[1])
    assert [s["party"] for s in stored["signatures"]] == ["VO"]
    history = [e["action"] for e in body(get(client, f"{path}/history", pair.vop))["items"]]
    assert history.count("exchange.sign_commitment_to_quality") == 1


def test_a_transaction_conflict_is_retried_even_for_a_caller_that_pinned_its_version(client, pair, faults):
    # Given a submitted exchange read at its version
    path = _submitted(client, pair)
    version = body(get(client, path, pair.vop))["version"]
    # When the review, pinned to that version, meets another transaction in flight once
    with faults.answering("TransactionCanceledException", times=1, reason="TransactionConflict") as conflict:
        response = post(client, f"{path}/review", pair.vop, {"decision": "approve", "version": version})
    # Then it is no stale version: it is tried again and succeeds
    assert response.status_code == 200, response.body
    assert conflict.answered == ["TransactWriteItems"]
    assert body(response)["version"] == version + 1


def test_a_pinned_stale_version_is_still_a_409_at_once(client, pair):
    path = _submitted(client, pair)
    version = body(get(client, path, pair.vop))["version"]
    assert post(client, f"{path}/review", pair.vop, {"decision": "approve"}).status_code == 200
    stale = post(client, f"{path}/review", pair.hop, {"decision": "approve", "version": version})
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "VERSION_CONFLICT"


def test_a_transaction_conflict_on_every_attempt_is_a_409_and_writes_nothing(
    client, pair, aws, monkeypatch, faults
):
    from chalicelib.services import writes

    monkeypatch.setattr(writes, "pause", lambda seconds: None)  # the backoff, not what is tested here
    path, signature = _ready_to_sign(client, pair, aws)
    before = everything_stored()
    with faults.answering("TransactionCanceledException", reason="TransactionConflict") as conflict:
        response = post(client, f"{path}/signatures", pair.visitor, signature)
    assert response.status_code == 409 and body(response)["error"]["code"] == "VERSION_CONFLICT"
    assert len(conflict.answered) == writes.ATTEMPTS
    assert everything_stored() == before


def test_the_retries_back_off_with_jitter_and_a_cap(monkeypatch):
    from chalicelib.services import writes
    from chalicelib.store.writes import StaleVersion

    pauses: list[float] = []
    monkeypatch.setattr(writes, "pause", pauses.append)

    def always_stale() -> None:
        raise StaleVersion("lost")

    with pytest.raises(Exception, match="someone else"):
        writes.optimistic(always_stale, "It")
    assert writes.ATTEMPTS >= 6 and len(pauses) == writes.ATTEMPTS - 1
    assert all(0 <= p <= writes.MAX_PAUSE_SECONDS for p in pauses)
    assert len(set(pauses)) > 1  # jittered: writers that lost together do not retry together
