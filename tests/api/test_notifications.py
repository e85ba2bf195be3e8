"""Notifications people can rely on: each step tells whom the table says, with the exchange's reference
and a link into the web app, once per event even when records are replayed or the send fails once;
preferences turn off only what is not essential; a partnership officer may take a daily digest of what
waits for the partnership instead."""

from __future__ import annotations

import re
from datetime import date

import pytest

from chalicelib import notifications
from tests.api import test_exchanges
from tests.api.conftest import auth
from tests.api.helpers import body, decide, host_registration, register, registration
from tests.api.test_exchanges import _submitted, get, post
from tests.api.test_finalisation import _approved, deliver_payments, tick_on
from tests.events import test_cv_check
from tests.events.helpers import run_effects, stream_event
from tests.fakes import RecordingMailer, fake_clock

pair = test_exchanges.pair
s3 = test_cv_check.s3
ada = test_cv_check.ada

CONTACT_POINT = "exchanges@epix.example"  # EPIX's first contact point: where its mail goes
LINK = re.compile(r"http://localhost:3000/(\S+)")


@pytest.fixture
def mailer(install_ports):
    recording = RecordingMailer()
    install_ports(mailer=recording)
    return recording


def _to(mailer: RecordingMailer, address: str) -> list[str]:
    return [subject for to, subject, _ in mailer.sent if to == address]


def _prefs(client, tok, **change):
    if change:
        return client.http.patch(
            "/v1/me/notifications", headers=auth(tok), body=__import__("json").dumps(change)
        )
    return client.http.get("/v1/me/notifications", headers=auth(tok))


# --- preferences -----------------------------------------------------------------------------------


def test_preferences_default_to_everything_and_change_field_by_field(client, token):
    tok = token("ada@acme.example")
    # Given nobody chose anything: everything, one mail per event
    shown = body(_prefs(client, tok))
    assert (shown["optional"], shown["digest"], shown["version"]) == (True, "none", 0)
    assert {n["name"] for n in shown["notices"]} == set(notifications.NOTICES)
    # When the participant turns off the optional messages
    changed = body(_prefs(client, tok, optional=False))
    # Then only that changed, and a stale version is refused with the current preferences
    assert (changed["optional"], changed["digest"], changed["version"]) == (False, "none", 1)
    stale = _prefs(client, tok, optional=True, version=2)
    assert stale.status_code == 409 and body(stale)["error"]["details"][0]["optional"] is False
    # And the digest is a partnership officer's choice only
    refused = _prefs(client, tok, digest="daily")
    assert refused.status_code == 422 and body(refused)["error"]["code"] == "DIGEST_FOR_PARTNERSHIPS"
    officer = token(CONTACT_POINT, "partnership", "epix")
    assert body(_prefs(client, officer, digest="daily"))["digest"] == "daily"


def test_an_opted_out_participant_gets_only_essential_mail(client, token, aws, mailer):
    # Given Ada (visitor, EPIX) turned off the optional messages before her registration is decided
    test_exchanges.seed_partnerships()
    ada_token = token("ada@acme.example")
    ada_id = body(register(client, ada_token))["id"]
    assert _prefs(client, ada_token, optional=False).status_code == 200
    host_token = token("hans@bdc.example")
    host = host_registration()
    host_id = body(register(client, host_token, host))["id"]
    # When both are accepted (news: optional) and the host asks her to answer a contact request (essential)
    assert decide(client, token("o@epix.example", "partnership", "epix"), ada_id, "accept").status_code == 200
    assert (
        decide(client, token("o@ce4big.example", "partnership", "ce4big"), host_id, "accept").status_code
        == 200
    )
    asked = post(client, "/v1/contact-requests", host_token, {"to": ada_id, "message": "Visit us?"})
    assert asked.status_code == 201, asked.body
    run_effects(aws)
    # Then Ada gets only the request; the host, who chose nothing, gets its acceptance too
    assert _to(mailer, "ada@acme.example") == ["ClusterXchange: a new contact request"]
    assert _to(mailer, "hans@bdc.example") == [
        "ClusterXchange: the registration of Berlin Digital Cluster is accepted"
    ]


# --- the daily digest ------------------------------------------------------------------------------


def test_the_daily_digest_lists_exactly_what_waits_once_a_business_day(client, pair, token, aws, mailer):
    # Given EPIX's contact officer chose the digest, and the pair's set-up mail is delivered
    officer = token(CONTACT_POINT, "partnership", "epix")
    assert _prefs(client, officer, digest="daily").status_code == 200
    run_effects(aws)
    before = len(mailer.sent)
    # When an exchange is submitted (it waits for both partnerships' review) and a registration for
    # EPIX arrives (it waits for its decision)
    path = _submitted(client, pair)
    newcomer = token("eve@lab.example")
    waiting_registration = body(
        register(client, newcomer, registration(representative__email="eve@lab.example"))
    )["id"]
    run_effects(aws)
    # Then EPIX's contact point is not mailed each event, while the host's partnership still is
    new = mailer.sent[before:]
    assert [to for to, _, _ in new if to == CONTACT_POINT] == []
    assert any(to == "info@ce4big.example" and "waiting for you" in s for to, s, _ in new)
    # When the schedule runs several times on a Friday, then on the Saturday
    friday = date(2026, 11, 27)
    for _ in range(3):
        tick_on(friday.isoformat())
        run_effects(aws)
    tick_on("2026-11-28")
    run_effects(aws)
    # Then one digest, on the Friday, listing exactly the registration and the review, with links
    digests = [(to, s, text) for to, s, text in mailer.sent if "waiting for EPIX" in s]
    assert [(to, s) for to, s, _ in digests] == [
        (CONTACT_POINT, "ClusterXchange: 2 items waiting for EPIX on 2026-11-27")
    ]
    links = sorted(LINK.findall(digests[0][2]))
    exchange_id = path.rsplit("/", 1)[1]
    assert links == sorted(
        [f"exchanges/{exchange_id}", f"registrations/{waiting_registration}", "partnerships/epix"]
    )
    # And the next business day lists what still waits (EPIX approved the plan meanwhile)
    assert post(client, f"{path}/review", pair.vop, {"decision": "approve"}).status_code == 200
    tick_on("2026-11-30")
    run_effects(aws)
    monday = [s for to, s, _ in mailer.sent if "waiting for EPIX" in s][1:]
    assert monday == ["ClusterXchange: 1 item waiting for EPIX on 2026-11-30"]


# --- every step of an exchange's life ----------------------------------------------------------------


def test_each_step_tells_whom_the_table_says_with_reference_and_link_once(
    client, pair, aws, s3, token, mailer
):
    # Given an exchange taken from its draft to its payment, every effect delivered as it comes
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    run_effects(aws)
    exchange = body(get(client, path, pair.visitor))
    payment = body(get(client, f"{path}/payment", pair.visitor))
    finance = token("clerk@epix.example", "finance", "epix")
    fake_clock().set_today(date(2027, 4, 21))
    confirm = {"bank_reference": "BANK-REF-1", "paid_at": "2027-04-20"}
    assert post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm).status_code == 200
    run_effects(aws)
    sent = list(mailer.sent)
    # Then every message names the exchange and links to it in the web app
    for to, subject, text in sent:
        if exchange["reference"] in subject or exchange["reference"] in text:
            assert f"http://localhost:3000/exchanges/{exchange['id']}" in text, (to, subject)
    by_subject: dict[str, list[str]] = {}
    for to, subject, _ in sent:
        by_subject.setdefault(subject, []).append(to)
    reference = exchange["reference"]
    visitor, host, vop, hop = "ada@acme.example", "hans@bdc.example", CONTACT_POINT, "info@ce4big.example"
    expected = {
        f"ClusterXchange: exchange {reference} is submitted for review": [visitor, host],
        f"ClusterXchange: exchange {reference} is validated": [visitor, host],
        f"ClusterXchange: exchange {reference} is report approved": [visitor, vop],
        f"ClusterXchange: the lump sum of exchange {reference} is on its way": [visitor, vop],
        f"ClusterXchange: exchange {reference} is paid": [visitor, vop],
    }
    for subject, recipients in expected.items():
        assert sorted(by_subject.get(subject, [])) == sorted(recipients), subject
    # Each party asked for what it must do: review (both partnerships), sign, the report, its decision
    waiting = f"ClusterXchange: exchange {reference} is waiting for you"
    assert sorted(set(by_subject[waiting])) == sorted({visitor, host, vop, hop})
    # When every record of the outbox's stream is handed on again
    import app as app_module

    assert app_module.deliver_effects(stream_event(aws.stream_arns["outbox"]), None) == {
        "batchItemFailures": []
    }
    # Then nothing is sent twice
    assert mailer.sent == sent
    # And the HTML part escapes what the parties wrote, and carries the same link
    assert all(html and '<a href="http://localhost:3000/' in html for html in mailer.html)


def test_a_send_that_fails_once_is_retried_and_sent_once(client, pair, aws, faults, mailer):
    # Given SES refusing the next send once
    run_effects(aws)
    before = len(mailer.sent)
    faults.fail("SendEmail", times=1)
    # When the exchange is submitted and its effects delivered (the failure retried by the schedule)
    path = _submitted(client, pair)
    run_effects(aws)
    tick_on("2026-11-21")
    tick_on("2026-11-22")
    run_effects(aws)
    # Then each partnership is asked to review exactly once
    reference = body(get(client, path, pair.visitor))["reference"]
    asked = [
        to
        for to, s, _ in mailer.sent[before:]
        if s == f"ClusterXchange: exchange {reference} is waiting for you"
    ]
    assert sorted(asked) == sorted([CONTACT_POINT, "info@ce4big.example"])


def test_a_registration_tells_its_partnership_once(client, token, aws, mailer):
    test_exchanges.seed_partnerships()
    tok = token("ada@acme.example")
    created = body(register(client, tok))
    run_effects(aws)
    run_effects(aws)
    received = [(to, s, text) for to, s, text in mailer.sent if "awaits your decision" in s]
    assert [(to, s) for to, s, _ in received] == [
        (CONTACT_POINT, "ClusterXchange: a new registration of Acme IoT awaits your decision")
    ]
    assert f"http://localhost:3000/registrations/{created['id']}" in received[0][2]


def test_whoever_uploaded_a_rejected_file_is_told_why_once(client, pair, aws, s3, mailer):
    from tests.api.test_exchange_uploads import EXECUTABLE, form, put
    from tests.api.test_exchanges import _validated
    from tests.events.test_cv_check import deliver

    # Given a validated exchange, and the HOP uploading an executable named as its signed scan
    path = _validated(client, pair)
    run_effects(aws)
    put(s3, form(client, path, pair.hop), EXECUTABLE)
    # When the check rejects it and what that causes is delivered (twice: a replayed record)
    deliver(aws)
    run_effects(aws)
    run_effects(aws)
    # Then the host's partnership, and only it, is told, with the reason and a link to the exchange
    told = [
        (to, text)
        for to, s, text in mailer.sent
        if s == "ClusterXchange: your upload signed.pdf was rejected"
    ]
    assert [to for to, _ in told] == ["info@ce4big.example"]
    assert "PDF, PNG or JPEG" in told[0][1] and "signed scan of the Commitment to Quality" in told[0][1]
    assert f"http://localhost:3000/exchanges/{path.rsplit('/', 1)[1]}" in told[0][1]


def test_a_rejected_cv_tells_its_owner_once(client, ada, aws, s3, mailer):
    from tests.api.test_exchange_uploads import EXECUTABLE
    from tests.events.test_cv_check import BUCKET, deliver, upload_form

    tok, _ = ada
    granted = upload_form(client, tok)
    s3.put_object(Bucket=BUCKET, Key=granted["key"], Body=EXECUTABLE)
    deliver(aws)
    run_effects(aws)
    run_effects(aws)
    told = [(to, s) for to, s, _ in mailer.sent if "was rejected" in s]
    assert told == [("ada@acme.example", "ClusterXchange: your upload cv.pdf was rejected")]
