"""Withdrawal over the app and moto's real streams (its effects from the outbox): what it does to the
person's exchanges (those not started are cancelled through the flow, those started run on
pseudonymised), to its contact requests, and what the other parties still see; and the GDPR export
of everything held about a person."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import app as app_module
from chalicelib import clock
from chalicelib.rules.registration import pseudonym
from chalicelib.services import reference as reference_service
from chalicelib.store import contacts as contact_store
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import registrations as registration_store
from chalicelib.store.models import OutboxModel, RegistrationModel
from infra.local.event_shapes import scheduled_event
from tests.api import test_exchanges, test_finalisation
from tests.api.conftest import auth
from tests.api.helpers import body, register
from tests.api.test_exchanges import IBAN, _ready, _sign, _validated, get, post, run_effects
from tests.api.test_finalisation import _approved, deliver_payments, tick_on
from tests.events.helpers import sent_emails, stream_event
from tests.fakes import fake_clock

s3 = test_finalisation.s3

# What names the visitor (Acme IoT, Ada Rossi) and the host (Berlin Digital Cluster, Hans Weber).
VISITOR_NAMES = ("Acme", "Rossi")
HOST_NAMES = ("Berlin Digital", "Weber")


pair = test_exchanges.pair  # an accepted visitor (Padova, epix) and host (Berlin, ce4big), in contact


@pytest.fixture
def named_pair(client, pair):
    """The pair, its host's representative renamed (the example body names Ada Rossi for both), so that
    what names one side cannot be mistaken for the other."""
    renamed = client.http.patch(
        "/v1/registrations/me",
        headers=auth(pair.host),
        body=json.dumps({"representative": {"first_name": "Hans", "last_name": "Weber"}}),
    )
    assert renamed.status_code == 200, renamed.body
    return pair


def withdraw(client, tok):
    return client.http.delete("/v1/registrations/me", headers=auth(tok))


def run_streams(aws):
    """The registrations stream (the catalogue's notes) and the outbox's: what a withdrawal causes."""
    event = stream_event(aws.stream_arns["registrations"])
    assert app_module.on_registration_change(event, None) == {"batchItemFailures": []}
    run_effects(aws)


def user_of(registration_id):
    return RegistrationModel.get(registration_id).user_id


def contact_point(partnership_id):
    partnership = reference_service.partnership(partnership_id)
    assert partnership is not None
    return partnership.contact_points[0].email


def what_others_see(client, path, *tokens):
    """Everything the exchange's other parties are shown of it, as one text, but the VO's bank account
    (its holder is whom the VOP pays: kept while there is something to pay)."""
    shown = []
    for tok in tokens:
        exchange = body(get(client, path, tok))
        listed = body(get(client, "/v1/exchanges", tok))["items"]
        for item in (exchange, *listed):
            item.pop("bank_account", None)
        documents = body(get(client, f"{path}/documents", tok))
        history = body(get(client, f"{path}/history", tok))
        shown.append(json.dumps([exchange, listed, documents, history]))
    return "".join(shown)


def test_a_visitor_withdrawing_cancels_its_validated_exchange_through_the_flow(client, named_pair, aws):
    pair = named_pair
    # Given a validated exchange, its agreements generated and its mails so far sent
    path = _validated(client, pair)
    run_effects(aws)
    run_effects(aws)  # the agreements' write, which asks for signatures
    run_streams(aws)
    mailed = len(sent_emails())
    # When the visitor withdraws and what it causes is delivered
    assert withdraw(client, pair.visitor).status_code == 202
    run_streams(aws)
    # Then the exchange is cancelled by the withdrawal, and the visitor's visit is given back
    seen = body(get(client, path, pair.host))
    assert seen["status"] == "cancelled" and seen["notes"]["cancel_reason"] == "withdrawn"
    assert seen["actions"] == []
    assert exchange_store.visiting(pair.visitor_id) is None
    assert exchange_store.get(path.rsplit("/", 1)[1])["bank_account"] is None  # nothing to pay to it
    last = body(get(client, f"{path}/history", pair.vop))["items"][-1]
    assert (last["action"], last["actor"], last["actor_role"], last["from_status"], last["to_status"]) == (
        "exchange.cancel",
        "system:withdrawal",
        "system",
        "validated",
        "cancelled",
    )
    # And what cancelling causes happens: the host's period is given back, the parties are told once
    # (the withdrawn visitor, whose address is erased, is not), and no mail names the visitor
    run_effects(aws)
    run_effects(aws)
    assert registration_store.get(pair.host_id)["exchanges"]["hosting_periods"] == []
    told = sent_emails()[mailed:]
    assert sorted(m.destinations["ToAddresses"][0] for m in told) == sorted(
        ["hans@bdc.example", contact_point("epix"), contact_point("ce4big")]
    )
    assert all("cancelled" in m.subject for m in told)
    assert not [m for m in told for name in VISITOR_NAMES if name in m.subject + m.body]
    # And the other parties see the visitor by its registration id only
    assert seen["visitor"]["registration_id"] == pair.visitor_id
    assert seen["host"]["organisation_name"] == "Berlin Digital Cluster"
    shown = what_others_see(client, path, pair.host, pair.vop, pair.hop)
    assert [name for name in VISITOR_NAMES if name in shown] == []
    # The withdrawn visitor no longer sees it
    assert get(client, path, pair.visitor).status_code == 404


def test_a_host_withdrawing_cancels_the_exchange_and_closes_its_pending_requests(client, named_pair, aws):
    pair = named_pair
    # Given a second, pending request from the visitor to the host, and a validated exchange
    sent = post(client, "/v1/contact-requests", pair.visitor, {"to": pair.host_id, "message": "Again"})
    assert sent.status_code == 201, sent.body
    assert contact_store.open_count(pair.visitor_id) == 1
    path = _validated(client, pair)
    run_effects(aws)
    # When the host withdraws
    assert withdraw(client, pair.host).status_code == 202
    run_streams(aws)
    run_effects(aws)
    # Then the exchange is cancelled by the withdrawal and the visitor may visit again
    seen = body(get(client, path, pair.visitor))
    assert seen["status"] == "cancelled" and seen["notes"]["cancel_reason"] == "withdrawn"
    assert exchange_store.visiting(pair.visitor_id) is None
    assert registration_store.get(pair.visitor_id)["exchanges"]["visited"] is False
    assert body(get(client, path, pair.visitor))["bank_account"]["iban"] == IBAN  # the visitor's own
    last = body(get(client, f"{path}/history", pair.visitor))["items"][-1]
    assert (last["action"], last["actor"], last["to_status"]) == (
        "exchange.cancel",
        "system:withdrawal",
        "cancelled",
    )
    # And the host is shown to the others by its registration id only
    assert seen["host"]["registration_id"] == pair.host_id
    shown = what_others_see(client, path, pair.visitor, pair.vop, pair.hop)
    assert [name for name in HOST_NAMES if name in shown] == []
    # And the pending request is closed (the visitor's slot is free again), its answer saying why
    assert contact_store.open_count(pair.visitor_id) == 0
    outgoing = body(get(client, "/v1/contact-requests?box=outgoing", pair.visitor))["items"]
    assert sorted(r["status"] for r in outgoing) == ["accepted", "declined"]
    declined = next(r for r in outgoing if r["status"] == "declined")
    assert declined["message"] == "Again" and "withdrew" in declined["reason"]
    assert [name for name in HOST_NAMES if name in json.dumps(outgoing)] == []


def test_an_exchange_in_progress_runs_on_with_the_withdrawn_visitor_pseudonymised(client, named_pair, aws):
    pair = named_pair
    # Given an exchange in its stay, signed by all four
    path = _ready(client, pair, aws)
    tick_on("2027-04-12")
    assert body(get(client, path, pair.vop))["status"] == "in_progress"
    user_id = user_of(pair.visitor_id)
    # When the visitor withdraws (and what it causes is delivered twice: a replayed record)
    assert withdraw(client, pair.visitor).status_code == 202
    run_streams(aws)
    run_streams(aws)
    # Then the exchange is not cancelled: the programme must pay what was done
    stored = exchange_store.get(path.rsplit("/", 1)[1])
    assert stored["status"] == "in_progress"
    assert stored["bank_account"]["iban"] == IBAN  # the transfer still needs it
    assert body(get(client, path, pair.vop))["bank_account"]["iban"] == IBAN
    # And the visitor's data in it is pseudonymised, its registration id kept
    assert stored["visitor"]["registration_id"] == pair.visitor_id
    assert stored["visitor"]["organisation_name"] != "Acme IoT"
    assert stored["visitor"]["representative_name"] != "Ada Rossi"
    assert stored["visitor_user"] == pseudonym(user_id)
    assert {s["by"] for s in stored["signatures"] if s["party"] == "VO"} == {pseudonym(user_id)}
    assert user_id not in json.dumps(stored)
    assert stored["host"]["organisation_name"] == "Berlin Digital Cluster"
    history = body(get(client, f"{path}/history", pair.vop))["items"]
    assert [(e["action"], e["actor"]) for e in history if e["actor"] == "system:withdrawal"] == [
        ("exchange.pseudonymised", "system:withdrawal")
    ]
    # And the other parties see no name of the visitor
    shown = what_others_see(client, path, pair.host, pair.vop, pair.hop)
    assert [name for name in VISITOR_NAMES if name in shown] == []
    incoming = body(get(client, "/v1/contact-requests?box=incoming", pair.host))["items"]
    assert [r["sender"]["registration_id"] for r in incoming] == [pair.visitor_id]
    assert [(r["message"], r["sender"]["organisation_name"]) for r in incoming] == [
        ("erased", "Withdrawn participant")
    ]
    # And the stay goes on by its dates
    tick_on("2027-04-17")
    assert body(get(client, path, pair.vop))["status"] == "completed"


def test_the_export_lists_the_exchange_signatures_bank_account_payment_and_contact(
    client, named_pair, aws, s3
):
    pair = named_pair
    # Given a paid-out exchange: signed by all, with the VO's account, evidence, an approved report
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    exchange_id = path.rsplit("/", 1)[1]
    user_id = user_of(pair.visitor_id)
    # When the visitor asks for everything held about it
    response = client.http.get("/v1/registrations/me/export", headers=auth(pair.visitor))
    # Then
    assert response.status_code == 200, response.body
    export = body(response)
    assert export["registration"]["id"] == pair.visitor_id
    [request] = export["contact_requests"]
    assert (request["id"], request["direction"], request["message"], request["status"]) == (
        pair.request_id,
        "sent",
        "Hi",
        "accepted",
    )
    assert [e["action"] for e in request["audit"]] == ["contact_request.created", "contact_request.accepted"]
    [exchange] = export["exchanges"]
    assert (exchange["id"], exchange["role"], exchange["status"]) == (
        exchange_id,
        "visitor",
        "report_approved",
    )
    assert exchange["bank_account"]["iban"] == IBAN
    own = [(s["document"], s["party"]) for s in exchange["signatures"] if s["by"] == user_id]
    assert sorted(own) == [("commitment_to_quality", "VO"), ("financial_agreement", "VO")]
    assert {s["party"] for s in exchange["signatures"]} == {"VO", "HO", "VOP", "HOP"}
    assert all(s["by"] in (user_id, None) for s in exchange["signatures"])  # others' ids are theirs
    assert sorted(d["kind"] for d in exchange["documents"]) == [
        "commitment_to_quality",
        "financial_agreement",
    ]
    [evidence] = exchange["uploads"]
    assert (evidence["kind"], evidence["status"], evidence["filename"]) == (
        "evidence",
        "accepted",
        "signed.pdf",
    )
    assert exchange["report"]["outcomes"] == "A pilot"
    actions = [e["action"] for e in exchange["audit"]]
    assert actions[0] == "exchange.created" and actions[-1] == "exchange.approve_report"
    [payment] = export["payments"]
    assert (payment["exchange_id"], payment["amount_eur"], payment["status"]) == (
        exchange_id,
        830,
        "instructed",
    )
    assert payment["creditor"]["iban"] == IBAN
    assert payment["ledger"]["creditor_iban"] == IBAN and payment["ledger"]["amount_eur"] == 830
    assert payment["audit"] and all(e["action"].startswith("payment.") for e in payment["audit"])
    # And the host's export holds its side: the exchange without the visitor's account, no payment
    hosts = body(client.http.get("/v1/registrations/me/export", headers=auth(pair.host)))
    [hosted] = hosts["exchanges"]
    assert (hosted["id"], hosted["role"], hosted["bank_account"]) == (exchange_id, "host", None)
    assert hosts["payments"] == []
    assert [r["direction"] for r in hosts["contact_requests"]] == ["received"]


def test_a_second_withdrawal_and_a_redelivered_stream_change_nothing_more(client, named_pair, aws, token):
    pair = named_pair
    # Given a visitor who withdrew while its exchange was validated, the effects carried out
    path = _validated(client, pair)
    run_effects(aws)
    withdraw(client, pair.visitor)
    run_streams(aws)
    run_effects(aws)
    cancelled = exchange_store.get(path.rsplit("/", 1)[1])
    mailed = len(sent_emails())
    # When it withdraws again, the streams are delivered again, and it registers and withdraws anew
    assert withdraw(client, pair.visitor).status_code == 404
    run_streams(aws)
    again = register(client, pair.visitor)
    assert again.status_code == 201, again.body
    assert withdraw(client, pair.visitor).status_code == 202
    run_streams(aws)
    run_effects(aws)
    # Then the exchange was cancelled once and is written no more; nobody is told twice
    assert exchange_store.get(cancelled["id"]) == cancelled
    history = body(get(client, f"{path}/history", pair.host))["items"]
    assert [e["action"] for e in history].count("exchange.cancel") == 1
    assert len(sent_emails()) == mailed


def test_a_signature_given_before_withdrawal_is_kept_pseudonymised(client, named_pair, aws):
    pair = named_pair
    # Given a validated exchange the visitor and the host have signed
    path = _validated(client, pair)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host), "commitment_to_quality")
    host_user = user_of(pair.host_id)
    # When the host withdraws
    withdraw(client, pair.host)
    run_streams(aws)
    # Then both signatures stay on record, the host's under its pseudonym; the exchange is cancelled
    stored = exchange_store.get(path.rsplit("/", 1)[1])
    assert stored["status"] == "cancelled"
    assert sorted((s["party"], s["by"] == pseudonym(host_user)) for s in stored["signatures"]) == [
        ("HO", True),
        ("VO", False),
    ]
    ctq = body(get(client, f"{path}/documents", pair.vop))["items"][0]
    assert sorted(s["party"] for s in ctq["signatures"]) == ["HO", "VO"]


def test_no_delivered_effect_keeps_the_withdrawn_users_id(client, named_pair, aws):
    # Given a validated exchange whose visitor withdraws, and everything it causes delivered
    pair = named_pair
    _validated(client, pair)
    run_effects(aws)
    user_id = user_of(pair.visitor_id)
    assert withdraw(client, pair.visitor).status_code == 202
    run_streams(aws)
    run_effects(aws)
    run_effects(aws)
    # Then the outbox (which needed the user's id to find its exchanges) no longer holds it anywhere:
    # what an effect was given is dropped once it is done
    items = list(OutboxModel.scan())
    assert items and all(item.done_at for item in items)
    assert [item.id for item in items if user_id in json.dumps(item.attribute_values, default=str)] == []


def test_a_withdrawal_the_outbox_stream_never_delivered_is_carried_out_by_the_schedule(
    client, named_pair, aws
):
    # Given a pending request to the host and a validated exchange, and the host's withdrawal, whose
    # effects the outbox's stream never hands on (it failed, or gave up)
    pair = named_pair
    sent = post(client, "/v1/contact-requests", pair.visitor, {"to": pair.host_id, "message": "Again"})
    assert sent.status_code == 201, sent.body
    path = _validated(client, pair)
    run_effects(aws)
    assert withdraw(client, pair.host).status_code == 202
    # When the schedule runs after the re-drive delay
    fake_clock().run_ahead(timedelta(minutes=5))
    event = scheduled_event("eu-west-1", "arn:aws:events:eu-west-1:123456789012:rule/tick", clock.now())
    app_module.tick(event, None)
    # Then the withdrawal is carried out all the same: the exchange cancelled, the request closed
    assert body(get(client, path, pair.visitor))["status"] == "cancelled"
    assert contact_store.open_count(pair.visitor_id) == 0
