"""Reminders by the business date, over the app, moto's streams and the schedule with the clock moved:
each sent once per condition across several runs, not before its day and not once the condition has
ended, its day shown on the object (`reminded_at`); a replayed outbox item or a send that fails once
sends exactly one message. Also the backfill of what was stored before reminders existed."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import boto3
import pytest

import app as app_module
from chalicelib.services import exchange_mail, reminders
from chalicelib.services import reference as reference_service
from chalicelib.services import registrations as registration_service
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import outbox
from chalicelib.store import registrations as registration_store
from chalicelib.store.models import ExchangeModel, OutboxModel
from infra import admin
from infra.seed import seed_partnerships
from tests.api import test_exchanges
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.api.test_exchanges import _sign, _validated, get, post
from tests.api.test_finalisation import REPORT, tick_on
from tests.events.helpers import run_effects, sent_emails, stream_event
from tests.fakes import fake_clock

pair = test_exchanges.pair  # validated-to-be exchanges start on 2026-11-20 (the pair's day)

VISITOR, HOST = "ada@acme.example", "hans@bdc.example"
EPIX, CE4BIG = "exchanges@epix.example", "info@ce4big.example"  # the partnerships' first contact points


def _mails(fragment: str) -> list[tuple[str, str, str]]:
    return sorted(
        (m.destinations["ToAddresses"][0], m.subject, m.body) for m in sent_emails() if fragment in m.subject
    )


def _to(fragment: str) -> list[str]:
    return [to for to, _, _ in _mails(fragment)]


def _runs(*days: str, aws) -> None:
    """The schedule on each of these days, and what it staged delivered (the outbox's stream)."""
    for day in days:
        tick_on(day)
        if stream_event(aws.stream_arns["outbox"])["Records"]:
            run_effects(aws)


def _stream_once(aws) -> None:
    """The outbox's stream handed to the dispatcher once (a failed item waits for its retry)."""
    assert app_module.deliver_effects(stream_event(aws.stream_arns["outbox"]), None) == {
        "batchItemFailures": []
    }


def _reminder_items(effect: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.effect == effect]  # the test reads everything on purpose


# --- registrations pending more than 14 days: their partnership -------------------------------------


@pytest.fixture
def pending(client, token):
    """Ada's registration, pending since 2027-01-04, and an officer of its partnership (epix)."""
    seed_partnerships()
    reference_service.forget_cache()
    fake_clock().set_today(date(2027, 1, 4))
    tok = token(VISITOR)
    created = body(register(client, tok))
    yield SimpleNamespace(
        token=tok, id=created["id"], officer=token("officer@epix.example", "partnership", "epix")
    )
    reference_service.forget_cache()


WAITED = "has waited"


def test_a_registration_pending_more_than_14_days_reminds_its_partnership_once(client, pending, aws):
    # Given it is pending, and nobody was reminded of it when it was made
    run_effects(aws)
    assert body(get(client, f"/v1/registrations/{pending.id}", pending.officer))["reminded_at"] is None
    # When the schedule runs on its 14th day: it has not waited more than 14 days yet
    _runs("2027-01-18", aws=aws)
    assert _mails(WAITED) == []
    # Then on the 15th its partnership is reminded, and never again at the next runs
    _runs("2027-01-19", "2027-01-20", "2027-02-15", aws=aws)
    ((to, subject, text),) = _mails(WAITED)
    assert to == EPIX
    assert subject == "ClusterXchange: the registration of Acme IoT has waited 15 days for a decision"
    assert "registered on 2027-01-04" in text and f"/registrations/{pending.id}" in text
    # And officers see the nudge was sent
    shown = body(get(client, f"/v1/registrations/{pending.id}", pending.officer))
    assert (shown["status"], shown["reminded_at"]) == ("pending", "2027-01-19")
    assert body(client.http.get("/v1/registrations/me", headers=auth(pending.token)))["reminded_at"] == (
        "2027-01-19"
    )
    assert registration_store.pending_unreminded("epix", date(2030, 1, 1)) == []


def test_a_registration_decided_or_withdrawn_before_its_day_reminds_nobody(client, pending, aws, token):
    # Given Ada's is accepted and Bob's withdrawn within the 14 days
    bob = token("bob@bob.example")
    other = registration(representative__email="bob@bob.example", organisation__name="Bob Labs")
    assert register(client, bob, other).status_code == 201
    fake_clock().set_today(date(2027, 1, 10))
    assert decide(client, pending.officer, pending.id, "accept").status_code == 200
    assert client.http.delete("/v1/registrations/me", headers=auth(bob)).status_code == 202
    # Then neither is among the pending ones to remind of, and no run reminds anyone
    assert registration_store.pending_unreminded("epix", date(2030, 1, 1)) == []
    _runs("2027-01-19", "2027-01-25", aws=aws)
    assert _mails(WAITED) == []
    assert body(get(client, f"/v1/registrations/{pending.id}", pending.officer))["reminded_at"] is None


def test_a_registration_decided_after_its_reminder_was_staged_reminds_nobody(client, pending, aws):
    # Given the schedule recorded the reminder, and the partnership decides before it is delivered
    tick_on("2027-01-19")
    assert decide(client, pending.officer, pending.id, "accept").status_code == 200
    # When the reminder is delivered (late, and again)
    run_effects(aws)
    run_effects(aws)
    # Then it reminds nobody of a registration that no longer waits
    assert _mails(WAITED) == []


def test_a_replayed_registration_reminder_sends_nothing_twice(client, pending, aws):
    # Given the reminder's item as staged (before its delivery marks it done)
    tick_on("2027-01-19")
    (staged,) = _reminder_items("remind_registration")
    item = outbox.get(staged.id)
    assert item is not None
    # When it is delivered, then handed to its handler again (a replay)
    run_effects(aws)
    registration_service.deliver_reminder(item)
    registration_service.deliver_reminder(item)
    # Then one mail went out
    assert _to(WAITED) == [EPIX]


def test_a_registration_reminder_whose_send_fails_once_is_sent_once_by_a_retry(client, pending, aws, faults):
    # Given SES refuses the reminder's first send
    run_effects(aws)  # what the registration itself caused
    faults.fail("SendEmail", times=1, function="deliver_effects")
    tick_on("2027-01-19")
    _stream_once(aws)
    assert _mails(WAITED) == []
    # Then a later run of the schedule re-drives it, and the partnership gets it once
    _runs("2027-01-20", "2027-01-21", aws=aws)
    assert _to(WAITED) == [EPIX]


def test_two_overlapping_runs_record_one_reminder(client, pending, aws, monkeypatch):
    # Both runs found the registration due (the second read the index before the first wrote)
    fake_clock().set_today(date(2027, 1, 19))
    assert registration_store.pending_unreminded("epix", date(2027, 1, 3)) == []  # made the day after
    due = registration_store.pending_unreminded("epix", date(2027, 1, 4))
    assert due == [pending.id]
    monkeypatch.setattr(
        registration_store,
        "pending_unreminded",
        lambda partnership, made_by: due if partnership == "epix" else [],
    )
    assert reminders.remind_registrations(date(2027, 1, 19)) == 1
    assert reminders.remind_registrations(date(2027, 1, 19)) == 0
    assert len(_reminder_items("remind_registration")) == 1


# --- exchanges: signatures outstanding, the day before the stay, the report not filed ---------------

SIGN = "waits for your signature"
STARTS = "starts tomorrow"
REPORT_DUE = "reminder: the closing report"


def _exchange(client, path, tok):
    return body(get(client, path, tok))


def test_an_exchange_reminds_each_of_its_conditions_once_on_its_day(client, pair, aws):
    # Given a validated exchange (2026-11-20) whose agreements are generated, signed by VO and HO only
    path = _validated(client, pair)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host), "commitment_to_quality")
    reference = _exchange(client, path, pair.vop)["reference"]
    # Then on the 7th day nobody is reminded; on the 8th the partnerships that have not signed are
    _runs("2026-11-27", aws=aws)
    assert _mails(SIGN) == []
    _runs("2026-11-28", "2026-11-29", "2026-12-01", aws=aws)
    reminded = _mails(SIGN)
    assert [to for to, _, _ in reminded] == sorted([EPIX, CE4BIG])
    assert all(
        s == f"ClusterXchange: reminder: exchange {reference} waits for your signature"
        for _, s, _ in reminded
    )
    assert all("Commitment to Quality has waited for your signature" in t for _, _, t in reminded)
    assert all("since 2026-11-20" in t for _, _, t in reminded)
    assert _exchange(client, path, pair.visitor)["reminded_at"] == "2026-11-28"

    # When they sign (2026-12-01) the financial agreement waits, for VO and VOP; the VO signs at once
    fake_clock().set_today(date(2026, 12, 1))
    _sign(client, path, (pair.vop, pair.hop), "commitment_to_quality")
    _sign(client, path, (pair.visitor,), "financial_agreement")
    assert _exchange(client, path, pair.vop)["status"] == "signed"
    _runs("2026-12-08", aws=aws)
    assert len(_mails(SIGN)) == 2
    # Then on the 8th day the VOP alone is reminded, of the financial agreement, once
    _runs("2026-12-09", "2026-12-10", aws=aws)
    (again,) = [m for m in _mails(SIGN) if "financial agreement" in m[2]]
    assert again[0] == EPIX and "since 2026-12-01" in again[2]
    assert _exchange(client, path, pair.vop)["reminded_at"] == "2026-12-09"

    # When the VOP signs it is ready (12-16 April 2027): VO and HO hear the day before it starts, once
    _sign(client, path, (pair.vop,), "financial_agreement")
    _runs("2027-04-10", aws=aws)
    assert _mails(STARTS) == []
    _runs("2027-04-11", "2027-04-12", aws=aws)
    assert _to(STARTS) == sorted([VISITOR, HOST])
    assert all("starts tomorrow, 2027-04-12" in t for _, _, t in _mails(STARTS))
    shown = _exchange(client, path, pair.vop)
    assert (shown["status"], shown["reminded_at"]) == ("in_progress", "2026-12-09")  # news, not a nudge

    # And once completed, the VO is reminded of its report 14 days after the end date, once
    _runs("2027-04-17", "2027-04-29", aws=aws)
    assert _mails(REPORT_DUE) == []
    _runs("2027-04-30", "2027-05-01", "2027-05-20", aws=aws)
    ((to, subject, text),) = _mails(REPORT_DUE)
    assert to == VISITOR and reference in subject and "ended on 2027-04-16" in text
    assert _exchange(client, path, pair.visitor)["reminded_at"] == "2027-04-30"
    # Every reminder went once: nothing is left to remind of
    assert len(_mails(SIGN)) == 3 and len(_mails(STARTS)) == 2


def test_signatures_given_within_the_week_remind_nobody(client, pair, aws):
    # Given an exchange signed by all four within the week
    path = _validated(client, pair)
    run_effects(aws)
    fake_clock().set_today(date(2026, 11, 26))
    _sign(client, path, (pair.visitor, pair.host, pair.vop, pair.hop), "commitment_to_quality")
    _sign(client, path, (pair.visitor, pair.vop), "financial_agreement")
    # Then no run reminds anyone to sign
    _runs("2026-11-28", "2026-12-04", "2026-12-10", aws=aws)
    assert _mails(SIGN) == []
    assert _exchange(client, path, pair.vop)["reminded_at"] is None


def test_an_exchange_cancelled_before_its_day_reminds_nobody(client, pair, aws):
    # Given a validated exchange cancelled within the week
    path = _validated(client, pair)
    run_effects(aws)
    assert post(client, f"{path}/cancel", pair.host, {"reason": "Dates changed"}).status_code == 200
    # Then nothing is left to remind of, and no run reminds anyone
    assert exchange_store.due_by(date(2030, 1, 1)) == []
    _runs("2026-11-28", "2026-12-10", aws=aws)
    assert _mails(SIGN) == []


def test_signatures_given_after_the_reminder_was_staged_remind_nobody(client, pair, aws):
    path = _validated(client, pair)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host, pair.vop), "commitment_to_quality")
    # Given the schedule recorded the HOP's reminder, and the HOP signs before it is delivered
    tick_on("2026-11-28")
    _sign(client, path, (pair.hop,), "commitment_to_quality")
    # When it is delivered (late, and again): the HOP is not asked for what it has given
    run_effects(aws)
    run_effects(aws)
    assert _mails(SIGN) == []


def test_a_report_filed_before_its_day_reminds_nobody(client, pair, aws):
    from tests.api.test_finalisation import _completed

    path = _completed(client, pair, aws)
    assert post(client, f"{path}/closing-report", pair.visitor, REPORT).status_code == 200
    _runs("2027-04-30", "2027-05-02", aws=aws)
    assert _mails(REPORT_DUE) == []


def test_a_replayed_signature_reminder_and_a_failed_send_each_send_exactly_once(client, pair, aws, faults):
    path = _validated(client, pair)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host, pair.hop), "commitment_to_quality")
    run_effects(aws)
    # Given the first send of the VOP's reminder fails
    faults.fail("SendEmail", times=1, function="deliver_effects")
    tick_on("2026-11-28")
    (staged,) = _reminder_items("remind_exchange")
    item = outbox.get(staged.id)
    assert item is not None and item.args["notice"] == "signature_reminder"
    _stream_once(aws)
    assert _mails(SIGN) == []
    # When a later run re-drives it, and its item is handed to the handler again (replays)
    _runs("2026-11-29", "2026-11-30", aws=aws)
    exchange_mail.deliver_reminder(item)
    exchange_mail.deliver_reminder(item)
    # Then the VOP got one
    assert _to(SIGN) == [EPIX]


# --- payments overdue: finance (services.payments), its day shown ------------------------------------


def test_an_overdue_payment_shows_the_day_finance_was_told(client, aws, token):
    from chalicelib.services import payments as payment_service
    from chalicelib.store import payments as payment_store

    # Given an instructed payment due on 2027-04-20 (made directly: the schedule is what is under test)
    payment = {
        "id": "pay_" + "1" * 32,
        "exchange_id": "exc_" + "1" * 32,
        "reference": "CXC-2027-000001",
        "vop": "epix",
        "visitor_user": None,
        "status": "instructed",
        "amount_eur": 500,
        "breakdown": {
            "table_version": "t",
            "host_country": "DE",
            "rate_eur": 500,
            "ceiling_eur": 1100,
            "working_days": 5,
            "distance_km": 700.0,
            "reductions": [],
            "amount_eur": 500,
        },
        "creditor": None,
        "due_by": "2027-04-20",
        "created_at": "2027-04-10T00:00:00.000Z",
        "updated_at": "2027-04-10T00:00:00.000Z",
        "version": None,
    }
    payment_store.create(payment, payment_service._entry(payment, "calculated", "test", None, None))
    finance = token("clerk@epix.example", "finance", "epix")
    # When the schedule runs on its due date, then after it
    _runs("2027-04-20", aws=aws)
    assert body(get(client, "/v1/payments", finance))["items"][0]["reminded_at"] is None
    _runs("2027-04-21", "2027-04-22", "2027-04-30", aws=aws)
    # Then finance was told once, and the payment shows the day
    (shown,) = body(get(client, "/v1/payments?overdue=true", finance))["items"]
    assert shown["reminded_at"] == "2027-04-21"
    assert len(_mails("is overdue")) == 1


# --- what was stored before reminders existed ----------------------------------------------------------


def _strip(model, item_id: str, *names: str) -> None:
    """The item as a deployment before reminders stored it: without these attributes (a raw write, so
    its version stays as it is)."""
    boto3.client("dynamodb", region_name="eu-west-1").update_item(
        TableName=model.Meta.table_name,
        Key={"id": {"S": item_id}},
        UpdateExpression="REMOVE " + ", ".join(names),
    )


def test_what_was_stored_before_reminders_is_reminded_of_once_after_the_backfill(client, pair, aws, token):
    # Given a pending registration and an exchange awaiting signatures as a deployment before reminders
    # stored them: the registration has nothing new to hold, the exchange has no reminder's day
    carl = token("carl@carl.example")
    data = registration(representative__email="carl@carl.example", organisation__name="Carl Works")
    assert register(client, carl, data).status_code == 201
    path = _validated(client, pair)
    run_effects(aws)
    _strip(ExchangeModel, path.rsplit("/", 1)[1], "remind_on", "due", "due_on")
    # Then the registration is found from its creation date, with no backfill; the exchange is not
    _runs("2026-12-10", aws=aws)
    assert _to(WAITED) == [EPIX] and _mails(SIGN) == []
    # When the operator runs the backfill (twice: the second finds nothing to do)
    out = io.StringIO()
    assert admin.main(["backfill-reminders"], out) == 0
    assert "exchanges: 1 given" in out.getvalue() and "payments: 0 given" in out.getvalue()
    again = io.StringIO()
    assert admin.main(["backfill-reminders"], again) == 0
    assert "exchanges: 0 given" in again.getvalue()
    # Then the next runs remind of the exchange's signatures once (their day, 2026-11-28, has passed)
    _runs("2026-12-11", "2026-12-12", aws=aws)
    assert _to(SIGN) == sorted([VISITOR, HOST, EPIX, CE4BIG])
    assert _to(WAITED) == [EPIX]
    assert _exchange(client, path, pair.vop)["reminded_at"] == "2026-12-11"
