"""The parties an exchange waits for are told by e-mail (the outbox: deliver_effects -> SES),
once each time it starts waiting for them, never again on a redelivered record."""

from __future__ import annotations

from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchanges import _submitted, draft, get, post, run_effects
from tests.events.helpers import sent_emails

pair = test_exchanges.pair  # an accepted visitor (epix) and host (ce4big) with an accepted request

VISITOR, HOST = "ada@acme.example", "hans@bdc.example"
EPIX = "exchanges@epix.example"  # the VOP's first contact point


def _mails_since(count):
    return [(m.destinations["ToAddresses"][0], m.subject, m.body) for m in sent_emails()[count:]]


def _hop_address():
    from chalicelib.services import reference

    partnership = reference.partnership("ce4big")
    assert partnership is not None
    return partnership.contact_points[0].email


def test_each_party_is_told_when_the_exchange_starts_waiting_for_it(client, pair, aws):
    run_effects(aws)  # what the pair's set-up caused (the decisions, the answered request)
    before = len(sent_emails())
    # A new draft waits for both participants' confirmation
    created = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    run_effects(aws)
    first = _mails_since(before)
    assert sorted(to for to, _, _ in first) == sorted([HOST, VISITOR])
    assert all(created["reference"] in subject for _, subject, _ in first)
    assert all("confirm the Commitment to Quality draft" in text for _, _, text in first)
    # A redelivered batch sends nothing more
    run_effects(aws)
    assert _mails_since(before + len(first)) == []


def test_submission_asks_both_partnerships_and_validation_asks_all_four_to_sign(client, pair, aws):
    path = _submitted(client, pair)
    run_effects(aws)
    before = len(sent_emails())
    post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    post(client, f"{path}/review", pair.hop, {"decision": "approve"})
    run_effects(aws)  # validated, then the agreements are generated (a second record)
    run_effects(aws)
    asked = _mails_since(before)
    signing = sorted(to for to, _, text in asked if "sign the Commitment to Quality" in text)
    assert signing == sorted([VISITOR, HOST, EPIX, _hop_address()])
    # nothing about the financial agreement yet: it follows the Commitment to Quality
    assert not any("sign the financial agreement" in text for _, _, text in asked)
    # the host side's mail names no bank account
    assert all("DE89" not in text for _, _, text in asked)


def test_a_request_for_changes_sends_the_draft_back_to_the_participants(client, pair, aws):
    path = _submitted(client, pair)
    run_effects(aws)
    before = len(sent_emails())
    post(client, f"{path}/review", pair.hop, {"decision": "request_changes", "comment": "Add a mentor."})
    run_effects(aws)
    asked = _mails_since(before)
    assert sorted(to for to, _, _ in asked) == sorted([HOST, VISITOR])
    assert all("change the draft as requested" in text for _, _, text in asked)
    assert body(get(client, path, pair.visitor))["status"] == "changes_requested"
