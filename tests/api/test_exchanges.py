"""Exchange building over HTTP: a draft from an accepted contact request, edits, the bank account, the
two confirmations, both partnerships' reviews, cancellation, lists and history; who may do each."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from chalicelib import clock
from chalicelib.handlers.exchanges import EXCHANGE_EXAMPLE
from chalicelib.services import reference as reference_service
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, host_registration, register
from tests.api.test_races import call  # noqa: F401 (the thread-safe request fixture)
from tests.events.helpers import run_effects
from tests.fakes import fake_clock

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def draft(contact_request_id: str, **changes):
    data = {**copy.deepcopy(EXCHANGE_EXAMPLE), "contact_request_id": contact_request_id}
    data.update(changes)
    return data


@pytest.fixture
def pair(client, token, aws):
    """An accepted visitor (IT, epix) and host (DE, ce4big) with an accepted contact request."""
    seed_partnerships()
    reference_service.forget_cache()
    fake_clock().set_today(__import__("datetime").date(2026, 11, 20))
    visitor_token = token("ada@acme.example")
    visitor = body(register(client, visitor_token))
    host_data = host_registration()
    host_token = token("hans@bdc.example")
    host = body(register(client, host_token, host_data))
    vop = token("officer@epix.example", "partnership", "epix")
    hop = token("officer@ce4big.example", "partnership", "ce4big")
    assert decide(client, vop, visitor["id"], "accept").status_code == 200
    assert decide(client, hop, host["id"], "accept").status_code == 200
    sent = client.http.post(
        "/v1/contact-requests",
        headers=auth(visitor_token),
        body=json.dumps({"to": host["id"], "message": "Hi"}),
    )
    request_id = body(sent)["id"]
    assert (
        client.http.post(f"/v1/contact-requests/{request_id}/accept", headers=auth(host_token)).status_code
        == 200
    )
    yield SimpleNamespace(
        visitor=visitor_token,
        host=host_token,
        vop=vop,
        hop=hop,
        request_id=request_id,
        host_id=host["id"],
        visitor_id=visitor["id"],
    )
    reference_service.forget_cache()


def post(client, path, tok, payload=None):
    return client.http.post(path, headers=auth(tok), body=json.dumps(payload or {}))


def patch(client, path, tok, payload):
    return client.http.patch(path, headers=auth(tok), body=json.dumps(payload))


def get(client, path, tok):
    return client.http.get(path, headers=auth(tok))


def test_a_draft_from_an_accepted_contact_request_names_the_four_parties_and_counts_working_days(
    client, pair
):
    # When the visitor starts the draft
    created = post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id))
    # Then
    assert created.status_code == 201, created.body
    exchange = body(created)
    assert exchange["reference"].startswith("CXC-2026-") and exchange["status"] == "draft"
    assert exchange["visitor"]["country"] == "IT" and exchange["host"]["country"] == "DE"
    assert exchange["visitor_partnership"]["id"] == "epix" and exchange["host_partnership"]["id"] == "ce4big"
    assert exchange["working_days"] == 5 and exchange["skipped_holidays"] == []
    assert set(exchange["actions"]) >= {"edit", "submit", "cancel"}
    # And the references of one year follow each other without gaps
    second = body(post(client, "/v1/exchanges", pair.host, draft(pair.request_id)))
    first_number, second_number = (int(e["reference"].rsplit("-", 1)[1]) for e in (exchange, second))
    assert second_number == first_number + 1


def test_holidays_of_the_host_country_are_skipped_by_name(client, pair):
    # Easter Monday 2027 is 29 March in Germany
    payload = draft(pair.request_id, start_date="2027-03-29", end_date="2027-04-02", activity_plan=[])
    exchange = body(post(client, "/v1/exchanges", pair.visitor, payload))
    assert exchange["working_days"] == 4
    assert [h["name"] for h in exchange["skipped_holidays"]] == ["Easter Monday"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"start_date": "2027-04-12", "end_date": "2027-04-13"}, "TOO_FEW_WORKING_DAYS"),
        ({"start_date": "2027-01-31", "end_date": "2027-02-28"}, "LONGER_THAN_ONE_MONTH"),
        ({"objectives": ["internship"]}, "UNKNOWN_OBJECTIVE"),
    ],
)
def test_the_exchange_rules_are_422(client, pair, changes, code):
    response = post(
        client, "/v1/exchanges", pair.visitor, draft(pair.request_id, activity_plan=[], **changes)
    )
    assert response.status_code == 422, response.body
    assert code in {d["code"] for d in body(response)["error"]["details"]}


def _submitted(client, pair, **changes):
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id, **changes)))
    path = f"/v1/exchanges/{exchange['id']}"
    account = {"bank_account": {"holder": "Acme IoT Srl", "iban": IBAN, "bic": BIC}}
    assert patch(client, path, pair.visitor, account).status_code == 200
    first = body(post(client, f"{path}/submit", pair.visitor))
    assert first["status"] == "draft" and first["confirmations"] == {"submit": ["VO"]}
    assert "submit" not in first["actions"]
    second = body(post(client, f"{path}/submit", pair.host))
    assert second["status"] == "submitted"
    return path


def test_both_confirmations_then_both_reviews_validate_it(client, pair):
    path = _submitted(client, pair)
    # A participant may not review; the VOP approves, then the HOP
    assert post(client, f"{path}/review", pair.visitor, {"decision": "approve"}).status_code == 403
    assert body(post(client, f"{path}/review", pair.vop, {"decision": "approve"}))["status"] == "submitted"
    assert body(post(client, f"{path}/review", pair.hop, {"decision": "approve"}))["status"] == "validated"
    history = [e["action"] for e in body(get(client, f"{path}/history", pair.vop))["items"]]
    assert history == ["exchange.created", "exchange.edit", "exchange.submit", "exchange.submit",
                       "exchange.approve", "exchange.approve"]  # fmt: skip


def test_submission_needs_the_bank_account_and_an_edit_clears_confirmations(client, pair):
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    refused = post(client, f"{path}/submit", pair.visitor)
    assert refused.status_code == 422 and body(refused)["error"]["code"] == "BANK_ACCOUNT_REQUIRED"
    bad = patch(
        client, path, pair.visitor, {"bank_account": {"holder": "Acme", "iban": "DE89370400440532013001"}}
    )
    assert bad.status_code == 422 and body(bad)["error"]["code"] == "INVALID_IBAN"
    # The host side never gives, nor sees, the account
    host_try = patch(client, path, pair.host, {"bank_account": {"holder": "H", "iban": IBAN, "bic": BIC}})
    assert host_try.status_code == 403
    assert (
        patch(
            client, path, pair.visitor, {"bank_account": {"holder": "Acme", "iban": IBAN, "bic": BIC}}
        ).status_code
        == 200
    )
    assert body(post(client, f"{path}/submit", pair.visitor))["confirmations"] == {"submit": ["VO"]}
    edited = body(patch(client, path, pair.host, {"expected_outcomes": "Two pilots."}))
    assert edited["confirmations"] == {} and edited["bank_account"] is None  # the host sees no account
    assert body(get(client, path, pair.vop))["bank_account"]["iban"] == IBAN
    assert body(get(client, path, pair.hop))["bank_account"] is None


def test_request_changes_needs_a_comment_and_sends_it_back(client, pair):
    path = _submitted(client, pair)
    no_comment = post(client, f"{path}/review", pair.hop, {"decision": "request_changes"})
    assert no_comment.status_code == 422 and body(no_comment)["error"]["code"] == "COMMENT_REQUIRED"
    back = body(
        post(client, f"{path}/review", pair.hop, {"decision": "request_changes", "comment": "Add a plan."})
    )
    assert back["status"] == "changes_requested" and back["notes"]["review_comment"] == "Add a plan."
    assert body(patch(client, path, pair.visitor, {"expected_outcomes": "With a plan."}))["status"] == "draft"


def test_strangers_get_404_and_a_stale_version_409(client, pair, token):
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    stranger = token("eve@nowhere.example")
    other_partnership = token("officer@clamtex.example", "partnership", "clamtex")
    assert get(client, path, stranger).status_code == 404
    assert get(client, path, other_partnership).status_code == 404
    assert get(client, path, token("support@cxc.example", "support")).status_code == 200
    stale = patch(client, path, pair.visitor, {"expected_outcomes": "x", "version": exchange["version"] + 5})
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "VERSION_CONFLICT"


def test_cancel_before_the_stay_and_then_nothing_else(client, pair):
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    cancelled = body(post(client, f"{path}/cancel", pair.host, {"reason": "Dates do not work"}))
    assert cancelled["status"] == "cancelled" and cancelled["actions"] == []
    again = post(client, f"{path}/submit", pair.visitor)
    assert again.status_code == 409 and "cancelled" in body(again)["error"]["message"]


def test_a_visitor_visits_once_even_with_two_drafts(client, pair):
    # Given a second draft, confirmed by the visitor, made while the first was still a draft
    second = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{second['id']}"
    account = {"bank_account": {"holder": "A", "iban": IBAN, "bic": BIC}}
    assert patch(client, path, pair.visitor, account).status_code == 200
    assert post(client, f"{path}/submit", pair.visitor).status_code == 200
    # When the first passes submission
    first = _submitted(client, pair)
    # Then no new draft may start, and the second cannot pass submission while the first holds the visit
    refused_draft = post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id))
    assert (
        refused_draft.status_code == 422 and body(refused_draft)["error"]["code"] == "VISITOR_ALREADY_VISITED"
    )
    refused = post(client, f"{path}/submit", pair.host)
    assert refused.status_code == 422 and body(refused)["error"]["code"] == "VISITOR_ALREADY_VISITED"
    # Cancelling the first gives the visit back
    assert post(client, f"{first}/cancel", pair.visitor, {"reason": "Other dates"}).status_code == 200
    assert body(post(client, f"{path}/submit", pair.host))["status"] == "submitted"


def test_lists_show_each_party_its_own(client, pair, token):
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    mine = body(get(client, "/v1/exchanges", pair.visitor))["items"]
    assert [e["id"] for e in mine] == [exchange["id"]]
    assert [e["id"] for e in body(get(client, "/v1/exchanges", pair.vop))["items"]] == [exchange["id"]]
    assert body(get(client, "/v1/exchanges", token("eve@nowhere.example")))["items"] == []


def test_two_partnerships_approving_at_once_both_count(client, pair, call):  # noqa: F811
    path = _submitted(client, pair)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda tok: call("POST", f"{path}/review", tok, {"decision": "approve"}), [pair.vop, pair.hop]
            )
        )
    assert [status for status, _ in results] == [200, 200], results
    assert body(get(client, path, pair.vop))["status"] == "validated"


def test_lists_page_through_both_sides_once(client, pair):
    made = [body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))["id"] for _ in range(3)]
    for who in (pair.visitor, pair.host, pair.vop, pair.hop):
        first = body(get(client, "/v1/exchanges?limit=2", who))
        rest = body(get(client, f"/v1/exchanges?limit=2&cursor={first['next_cursor']}", who))
        assert [e["id"] for e in first["items"] + rest["items"]] == made[::-1] and rest["next_cursor"] is None
    assert body(get(client, "/v1/exchanges?status=cancelled", pair.host))["items"] == []


def test_the_visitors_partnership_records_an_agreement_made_outside_the_tool(client, pair):
    ids = {"visitor_registration_id": pair.visitor_id, "host_registration_id": pair.host_id}
    by_vop = post(client, "/v1/exchanges", pair.vop, {**draft(None), **ids})
    assert by_vop.status_code == 201, by_vop.body
    # the host's partnership may not; nor may a draft name both sources, or neither
    assert post(client, "/v1/exchanges", pair.hop, {**draft(None), **ids}).status_code == 403
    both = post(client, "/v1/exchanges", pair.vop, {**draft(pair.request_id), **ids})
    neither = post(client, "/v1/exchanges", pair.visitor, draft(None))
    for refused in (both, neither):
        assert refused.status_code == 422 and body(refused)["error"]["code"] == "EXCHANGE_SOURCE_REQUIRED"


def _validated(client, pair, **changes):
    path = _submitted(client, pair, **changes)
    post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    assert body(post(client, f"{path}/review", pair.hop, {"decision": "approve"}))["status"] == "validated"
    return path


def test_validation_generates_both_agreements_which_all_parties_sign_to_ready(client, pair, aws):
    # Given a validated exchange, and the exchanges stream delivered to its function (twice: idempotent)
    path = _validated(client, pair)
    run_effects(aws)
    run_effects(aws)
    documents = body(get(client, f"{path}/documents", pair.visitor))["items"]
    assert [(d["kind"], d["version"]) for d in documents] == [
        ("commitment_to_quality", 1),
        ("financial_agreement", 1),
    ]
    # The PDF behind the link is the one whose hash is recorded, and it carries the agreed fields
    import hashlib
    import io
    import urllib.parse

    import boto3
    from pypdf import PdfReader

    link = body(get(client, f"{path}/documents/commitment_to_quality", pair.host))
    key = urllib.parse.unquote(urllib.parse.urlparse(link["url"]).path).lstrip("/")
    key = key.removeprefix("cxc-test-artifacts/")  # path-style links name the bucket first
    pdf = (
        boto3.client("s3", region_name="eu-west-1")
        .get_object(Bucket="cxc-test-artifacts", Key=key)["Body"]
        .read()
    )
    assert hashlib.sha256(pdf).hexdigest() == link["sha256"] == documents[0]["sha256"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Lab tour and introductions" in text and "Berlin Digital Cluster" in text
    # When a party signs another hash, it is refused; the four sign the current one
    ctq, fa = documents[0]["sha256"], documents[1]["sha256"]
    stale = post(
        client, f"{path}/signatures", pair.visitor, {"document": "commitment_to_quality", "sha256": "0" * 64}
    )
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "STALE_DOCUMENT"
    early = post(
        client, f"{path}/signatures", pair.visitor, {"document": "financial_agreement", "sha256": fa}
    )
    assert early.status_code == 409  # the financial agreement follows the Commitment to Quality
    for who in (pair.visitor, pair.host, pair.vop):
        assert (
            body(
                post(client, f"{path}/signatures", who, {"document": "commitment_to_quality", "sha256": ctq})
            )["status"]
            == "validated"
        )
    twice = post(client, f"{path}/signatures", pair.vop, {"document": "commitment_to_quality", "sha256": ctq})
    assert twice.status_code == 409 and body(twice)["error"]["code"] == "ALREADY_SIGNED"
    signed = body(
        post(client, f"{path}/signatures", pair.hop, {"document": "commitment_to_quality", "sha256": ctq})
    )
    assert signed["status"] == "signed"
    # The host side does not sign the financial agreement; VO and VOP do
    assert (
        post(
            client, f"{path}/signatures", pair.host, {"document": "financial_agreement", "sha256": fa}
        ).status_code
        == 403
    )
    post(client, f"{path}/signatures", pair.visitor, {"document": "financial_agreement", "sha256": fa})
    ready = body(
        post(client, f"{path}/signatures", pair.vop, {"document": "financial_agreement", "sha256": fa})
    )
    assert ready["status"] == "ready"
    listed = body(get(client, f"{path}/documents", pair.vop))["items"]
    assert sorted(s["party"] for s in listed[0]["signatures"]) == ["HO", "HOP", "VO", "VOP"]
    assert sorted(s["party"] for s in listed[1]["signatures"]) == ["VO", "VOP"]


def test_four_signers_at_once_all_count(client, pair, aws, call):  # noqa: F811
    path = _validated(client, pair)
    run_effects(aws)
    ctq = body(get(client, f"{path}/documents", pair.visitor))["items"][0]["sha256"]
    payload = {"document": "commitment_to_quality", "sha256": ctq}
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = [pair.visitor, pair.host, pair.vop, pair.hop]
        results = list(pool.map(lambda tok: call("POST", f"{path}/signatures", tok, payload), tokens))
    assert [status for status, _ in results] == [200, 200, 200, 200], results
    assert body(get(client, path, pair.vop))["status"] == "signed"


def _sign(client, path, signers, kind):
    documents = body(get(client, f"{path}/documents", signers[0]))["items"]
    sha = next(d["sha256"] for d in documents if d["kind"] == kind and d["current"])
    return [
        body(post(client, f"{path}/signatures", who, {"document": kind, "sha256": sha})) for who in signers
    ]


def _ready(client, pair, aws, **changes):
    path = _validated(client, pair, **changes)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host, pair.vop, pair.hop), "commitment_to_quality")
    _sign(client, path, (pair.visitor, pair.vop), "financial_agreement")
    assert body(get(client, path, pair.vop))["status"] == "ready"
    return path


def test_the_dates_move_a_ready_exchange_through_its_stay(client, pair, aws):
    # Given a ready exchange (12-16 April 2027)
    import app as app_module
    from chalicelib.store import exchanges as exchange_store
    from infra.local.event_shapes import scheduled_event

    path = _ready(client, pair, aws)
    event = scheduled_event("eu-west-1", "arn:aws:events:eu-west-1:123456789012:rule/tick", clock.now())

    def tick_on(day: str) -> str:
        fake_clock().set_today(__import__("datetime").date.fromisoformat(day))
        app_module.tick(event, None)
        return body(get(client, path, pair.vop))["status"]

    # Then nothing moves before the start date, the stay starts on it and completes the day after the end
    assert tick_on("2027-04-11") == "ready"
    assert exchange_store.due_by(__import__("datetime").date(2027, 4, 12))  # the sparse index holds it
    assert tick_on("2027-04-12") == "in_progress"
    assert tick_on("2027-04-16") == "in_progress"
    assert tick_on("2027-04-17") == "completed"
    # Nothing left to do by the dates but the closing report's reminder, 14 days after the end
    assert exchange_store.due_by(__import__("datetime").date(2027, 4, 29)) == []
    assert exchange_store.due_by(__import__("datetime").date(2027, 4, 30)) == [path.rsplit("/", 1)[1]]
    history = [e["action"] for e in body(get(client, f"{path}/history", pair.vop))["items"]][-2:]
    assert history == ["exchange.start", "exchange.complete"]


def test_registrations_learn_of_their_exchanges_from_the_stream(client, pair, aws):
    from chalicelib.store import registrations as registration_store

    # Given a submitted exchange, the stream delivered
    path = _submitted(client, pair)
    run_effects(aws)
    visitor = registration_store.get(pair.visitor_id)
    host = registration_store.get(pair.host_id)
    # Then the visitor has visited (matching offers it no more) and the host holds the period
    assert visitor["exchanges"]["visited"] is True
    assert [(p["start"], p["end"]) for p in host["exchanges"]["hosting_periods"]] == [
        ("2027-04-12", "2027-04-16")
    ]
    # And a cancellation gives both back
    post(client, f"{path}/cancel", pair.host, {"reason": "Dates"})
    run_effects(aws)
    assert registration_store.get(pair.visitor_id)["exchanges"]["visited"] is False
    assert registration_store.get(pair.host_id)["exchanges"]["hosting_periods"] == []


def test_a_party_may_decline_to_sign_and_signatures_given_stay_on_record(client, pair, aws):
    path = _validated(client, pair)
    run_effects(aws)
    ctq = body(get(client, f"{path}/documents", pair.visitor))["items"][0]["sha256"]
    post(client, f"{path}/signatures", pair.visitor, {"document": "commitment_to_quality", "sha256": ctq})
    declined = post(
        client,
        f"{path}/signatures/decline",
        pair.hop,
        {"document": "commitment_to_quality", "reason": "Add a mentor."},
    )
    assert declined.status_code == 200, declined.body
    seen = body(get(client, path, pair.host))
    assert seen["status"] == "changes_requested" and "Add a mentor." in seen["notes"]["declined"]
    signatures = body(get(client, f"{path}/documents", pair.vop))["items"][0]["signatures"]
    assert [s["party"] for s in signatures] == ["VO"]


def test_an_extension_after_all_signatures_keeps_them_and_asks_only_the_affected_parties(client, pair, aws):
    # Given a ready exchange, 12-16 April 2027 (five working days in Germany), signed by all
    path = _ready(client, pair, aws)
    # When the visitor asks for an earlier or an over-long end date, the rules refuse it
    for end_date, code in (("2027-04-15", "EXTENSION_NOT_LATER"), ("2027-05-20", "LONGER_THAN_ONE_MONTH")):
        refused = post(client, f"{path}/extension", pair.visitor, {"end_date": end_date, "reason": "More"})
        assert refused.status_code == 422 and code in json.dumps(body(refused)), refused.body
    # And a week more is asked for once, and waits for the VOP (not the HOP, not the participants)
    asked = body(
        post(client, f"{path}/extension", pair.visitor, {"end_date": "2027-04-23", "reason": "Pilot"})
    )
    assert asked["status"] == "ready" and asked["extension"]["status"] == "requested"
    again = post(client, f"{path}/extension", pair.host, {"end_date": "2027-04-20", "reason": "Also"})
    assert again.status_code == 409 and body(again)["error"]["code"] == "EXTENSION_PENDING"
    for who in (pair.hop, pair.visitor):
        assert post(client, f"{path}/extension/decision", who, {"decision": "grant"}).status_code == 403
    granted = body(post(client, f"{path}/extension/decision", pair.vop, {"decision": "grant"}))
    assert (granted["status"], granted["end_date"], granted["working_days"]) == (
        "validated",
        "2027-04-23",
        10,
    )
    # Then the Commitment to Quality gets a second version naming what changed; the financial agreement,
    # which only depends on the stay being long, keeps its version and its two signatures
    run_effects(aws)
    documents = body(get(client, f"{path}/documents", pair.host))["items"]
    shown = [
        (d["kind"], d["version"], d["current"], sorted(s["party"] for s in d["signatures"]))
        for d in documents
    ]
    assert shown == [
        ("commitment_to_quality", 1, False, ["HO", "HOP", "VO", "VOP"]),
        ("commitment_to_quality", 2, True, []),
        ("financial_agreement", 1, True, ["VO", "VOP"]),
    ]
    assert {"end_date", "working_days"} <= set(documents[1]["changed_fields"])
    assert "objectives" not in documents[1]["changed_fields"]
    from chalicelib.store import registrations as registration_store

    periods = registration_store.get(pair.host_id)["exchanges"]["hosting_periods"]
    assert [(p["start"], p["end"]) for p in periods] == [("2027-04-12", "2027-04-23")]  # the host's capacity
    # A signature on the old version is refused; the four sign the new one, and it is ready again
    # without VO and VOP being asked to sign the financial agreement again
    stale = post(
        client,
        f"{path}/signatures",
        pair.visitor,
        {"document": "commitment_to_quality", "sha256": documents[0]["sha256"]},
    )
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "STALE_DOCUMENT"
    assert "sign_financial_agreement" not in body(get(client, path, pair.visitor))["actions"]
    statuses = [
        e["status"]
        for e in _sign(client, path, (pair.visitor, pair.host, pair.vop, pair.hop), "commitment_to_quality")
    ]
    assert statuses == ["validated", "validated", "validated", "ready"]
    history = [e["action"] for e in body(get(client, f"{path}/history", pair.vop))["items"]]
    assert "exchange.request_extension" in history and "exchange.grant_extension" in history


def test_a_refused_extension_needs_a_reason_and_changes_nothing_else(client, pair, aws):
    path = _ready(client, pair, aws)
    post(client, f"{path}/extension", pair.host, {"end_date": "2027-04-20", "reason": "Pilot"})
    bare = post(client, f"{path}/extension/decision", pair.vop, {"decision": "refuse"})
    assert bare.status_code == 422 and body(bare)["error"]["code"] == "COMMENT_REQUIRED"
    refused = body(
        post(client, f"{path}/extension/decision", pair.vop, {"decision": "refuse", "comment": "Budget"})
    )
    assert (refused["status"], refused["end_date"], refused["extension"]["status"]) == (
        "ready",
        "2027-04-16",
        "refused",
    )
    nothing = post(client, f"{path}/extension/decision", pair.vop, {"decision": "grant"})
    assert nothing.status_code == 409 and body(nothing)["error"]["code"] == "NO_EXTENSION_REQUESTED"


# --- a repeated act, and acts no status allows a party --------------------------------------------


def _history(client, path, tok):
    return [e["action"] for e in body(get(client, f"{path}/history", tok))["items"]]


def test_a_repeated_confirmation_or_approval_answers_the_current_state_and_writes_nothing(client, pair):
    # Given a draft the VO has confirmed
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    account = {"bank_account": {"holder": "Acme IoT Srl", "iban": IBAN, "bic": BIC}}
    assert patch(client, path, pair.visitor, account).status_code == 200
    first = body(post(client, f"{path}/submit", pair.visitor))
    history = _history(client, path, pair.vop)
    # When the VO confirms again (a mobile client retrying after a lost answer)
    again = post(client, f"{path}/submit", pair.visitor)
    # Then it is answered the exchange as it is, and nothing was written
    assert again.status_code == 200, again.body
    assert body(again) == first
    assert _history(client, path, pair.vop) == history
    # And the same holds for a partnership approving twice
    post(client, f"{path}/submit", pair.host)
    approved = body(post(client, f"{path}/review", pair.vop, {"decision": "approve"}))
    history = _history(client, path, pair.vop)
    twice = post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    assert twice.status_code == 200, twice.body
    assert (body(twice)["version"], body(twice)["confirmations"]) == (
        approved["version"],
        {"approve": ["VOP"]},
    )
    assert _history(client, path, pair.vop) == history
    # While the other partnership's approval still counts
    assert body(post(client, f"{path}/review", pair.hop, {"decision": "approve"}))["status"] == "validated"


def test_the_host_side_never_gives_the_bank_account_whatever_the_status(client, pair):
    # Given a submitted exchange (no edit is possible now)
    path = _submitted(client, pair)
    account = {"bank_account": {"holder": "H", "iban": IBAN, "bic": BIC}}
    # When the VO asks, it is told "not now"; when the host asks, "never"
    not_now = patch(client, path, pair.visitor, account)
    assert not_now.status_code == 409 and body(not_now)["error"]["code"] == "INVALID_STATUS"
    for who in (pair.host, pair.hop):
        refused = patch(client, path, who, account)
        assert refused.status_code == 403, refused.body
        assert body(refused)["error"]["code"] == "FORBIDDEN"


def test_the_host_side_never_uploads_a_scan_of_the_financial_agreement_whatever_the_status(client, pair):
    # Given a draft (nothing is signed yet)
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    scan = {
        "kind": "signed_scan",
        "document": "financial_agreement",
        "filename": "signed.pdf",
        "content_type": "application/pdf",
        "size": 2000,
    }
    # Then the VO is told "not now" and the host side "never"
    not_now = post(client, f"{path}/uploads", pair.visitor, scan)
    assert not_now.status_code == 409 and body(not_now)["error"]["code"] == "INVALID_STATUS"
    for who in (pair.host, pair.hop):
        refused = post(client, f"{path}/uploads", who, scan)
        assert refused.status_code == 403, refused.body
        assert body(refused)["error"]["code"] == "FORBIDDEN"


def test_a_bank_account_given_in_an_attempt_that_lost_a_race_is_given_by_the_retry(client, pair, monkeypatch):
    # Given a draft, and a write that loses its first race (another change came in between)
    from chalicelib.store import exchanges as exchange_store
    from chalicelib.store.writes import StaleVersion

    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    path = f"/v1/exchanges/{exchange['id']}"
    replace, lost = exchange_store.replace, []

    def once_stale(*args, **kwargs):
        if not lost:
            lost.append(True)
            raise StaleVersion(exchange["id"])
        return replace(*args, **kwargs)

    monkeypatch.setattr(exchange_store, "replace", once_stale)
    # When the VO gives its account
    account = {"bank_account": {"holder": "Acme IoT Srl", "iban": IBAN, "bic": BIC}}
    edited = patch(client, path, pair.visitor, account)
    # Then the retry wrote it
    assert lost and edited.status_code == 200, edited.body
    assert body(get(client, path, pair.visitor))["bank_account"]["iban"] == IBAN


def test_a_signed_scan_that_names_no_document_is_a_rule_not_bad_input(client, pair):
    # Given a draft, and a well-formed upload request for a signed scan that names no document
    exchange = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    scan = {"kind": "signed_scan", "filename": "s.pdf", "content_type": "application/pdf", "size": 2000}
    # Then it is refused as the rule it breaks (422), naming the field, and nothing is awaited
    refused = post(
        client, f"/v1/exchanges/{exchange['id']}/uploads", pair.visitor, {**scan, "document": None}
    )
    assert refused.status_code == 422, refused.body
    error = body(refused)["error"]
    assert (error["code"], error["details"][0]["field"]) == ("DOCUMENT_REQUIRED", "document")
