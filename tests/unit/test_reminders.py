"""When reminders fall due (rules.reminders) and how the typed exchange keeps its reminder's day: set
when a condition starts, kept while it holds, cleared when it ends or the reminder is staged."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.rules import reminders
from chalicelib.rules.exchange_flow import ExchangeStatus, Party
from chalicelib.rules.exchange_model import Exchange
from chalicelib.services import effects
from tests.unit.test_exchange_model import AT, CTQ, FA, LATER, _act, _stored

DAYS = {"start_date": "2027-04-12", "end_date": "2027-04-16"}


def test_a_registration_is_reminded_of_once_it_has_waited_more_than_14_days():
    assert reminders.registration_remind_on("2027-01-04T23:59:00.000Z") == "2027-01-19"
    assert reminders.registrations_made_by(date(2027, 1, 19)) == date(2027, 1, 4)
    # across a month's end and a leap day
    assert reminders.registration_remind_on("2028-02-20T08:00:00Z") == "2028-03-06"
    assert reminders.registrations_made_by(date(2028, 3, 6)) == date(2028, 2, 20)


@pytest.mark.parametrize(
    ("status", "since", "expected"),
    [
        ("validated", "2027-03-01T10:00:00Z", "2027-03-09"),  # outstanding more than 7 days
        ("signed", "2027-03-05T10:00:00Z", "2027-03-13"),
        ("ready", "2027-03-20T10:00:00Z", "2027-04-11"),  # the day before the stay
        ("completed", "2027-04-17T06:00:00Z", "2027-04-30"),  # 14 days after the end date
        ("draft", AT, None),
        ("in_progress", AT, None),
        ("report_submitted", AT, None),
        ("cancelled", AT, None),
    ],
)
def test_the_day_each_status_is_reminded_on(status, since, expected):
    assert reminders.exchange_remind_on(status, since, DAYS) == expected


def test_a_signature_reminder_says_since_when_the_signatures_are_awaited():
    assert reminders.waiting_since(reminders.exchange_remind_on("signed", "2027-03-05T10:00:00Z", DAYS)) == (
        "2027-03-05"
    )


def test_a_reminder_is_due_from_its_day_and_the_day_before_the_stay_only_on_that_day():
    validated = {**DAYS, "status": "validated", "validated_at": AT, "remind_on": "2027-03-09"}
    assert reminders.exchange_reminder(validated, date(2027, 3, 8)) is None
    due = reminders.exchange_reminder(validated, date(2027, 3, 20))  # a late run still reminds
    assert due is not None and due.nudge
    assert due.args == {"notice": "signature_reminder", "condition": f"validated@{AT}", "since": "2027-03-01"}
    ready = {**DAYS, "status": "ready", "validated_at": AT, "remind_on": "2027-04-11"}
    told = reminders.exchange_reminder(ready, date(2027, 4, 11))
    assert told is not None and not told.nudge and told.notice == "exchange_starts_tomorrow"
    assert reminders.exchange_reminder(ready, date(2027, 4, 12)) is None  # it starts today: too late
    # nothing without a day, or in a status that has no reminder
    assert reminders.exchange_reminder({**validated, "remind_on": None}, date(2027, 3, 20)) is None
    assert reminders.exchange_reminder({**validated, "status": "in_progress"}, date(2027, 3, 20)) is None


def test_each_signing_round_is_a_condition_of_its_own():
    first = {**DAYS, "status": "validated", "validated_at": AT}
    assert reminders.condition(first) != reminders.condition({**first, "validated_at": LATER})
    assert reminders.condition(first) != reminders.condition({**first, "status": "signed"})
    assert reminders.condition({**DAYS, "status": "completed"}) == "completed@2027-04-16"


def test_the_backfill_dates_a_condition_from_what_the_exchange_holds():
    signatures = [
        {"document": CTQ, "party": p, "at": at}
        for p, at in (("VO", "2027-03-02T09:00:00Z"), ("HOP", "2027-03-04T15:00:00Z"))
    ] + [{"document": FA, "party": "VO", "at": "2027-03-06T10:00:00Z"}]
    doc = {**DAYS, "validated_at": AT, "signatures": signatures}
    assert reminders.backfilled_remind_on({**doc, "status": "validated"}) == "2027-03-09"
    # signed with the last signature on the Commitment to Quality (the financial agreement's is later)
    assert reminders.backfilled_remind_on({**doc, "status": "signed"}) == "2027-03-12"
    assert reminders.backfilled_remind_on({**doc, "status": "completed"}) == "2027-04-30"
    assert reminders.backfilled_remind_on({**doc, "status": "paid"}) is None


def test_the_reminders_effects_have_their_handlers():
    assert {reminders.REMIND_REGISTRATION, reminders.REMIND_EXCHANGE} <= set(effects.HANDLERS)
    for name in (reminders.REMIND_REGISTRATION, reminders.REMIND_EXCHANGE):
        assert callable(effects.handler(name))


# --- the typed exchange keeps its reminder's day -----------------------------------------------------


def _moved(exchange: Exchange, act):
    return exchange.apply(act).moved(exchange.decide(act), act, before=exchange).exchange


def test_entering_a_status_sets_its_reminders_day_and_a_step_that_stays_keeps_it():
    # Given a validated exchange whose Commitment to Quality three parties have signed
    sigs = [
        {"document": CTQ, "version": 1, "sha256": "c1", "party": p, "by": "u", "at": AT}
        for p in ("HO", "VO", "VOP")
    ]
    acted = {"sign_commitment_to_quality": ["HO", "VO", "VOP"]}
    validated = Exchange.from_document(_stored(signatures=sigs, acted=acted, remind_on="2027-03-09"))
    # When the last signs (2027-03-02): signed, its financial agreement awaited from that day
    signed = _moved(validated, _act("sign_commitment_to_quality", Party.HOP, document=CTQ, sha256="c1"))
    assert (signed.status, signed.content["remind_on"]) == (ExchangeStatus.SIGNED, "2027-03-10")
    # A signature that leaves the status as it is keeps the day
    half = _moved(signed, _act("sign_financial_agreement", Party.VO, document=FA, sha256="f1"))
    assert (half.status, half.content["remind_on"]) == (ExchangeStatus.SIGNED, "2027-03-10")
    # Ready: the day before the stay
    ready = _moved(half, _act("sign_financial_agreement", Party.VOP, document=FA, sha256="f1"))
    assert (ready.status, ready.content["remind_on"]) == (ExchangeStatus.READY, "2027-04-11")
    # Cancelled: nothing to remind of
    cancelled = _moved(ready, _act("cancel", Party.HO, reason="plans changed"))
    assert cancelled.content["remind_on"] is None


def test_a_reminder_staged_clears_the_day_and_shows_it_when_it_nudges():
    exchange = Exchange.from_document(_stored(remind_on="2027-03-09"))
    due = reminders.exchange_reminder(exchange.as_document(), date(2027, 3, 9))
    assert due is not None
    reminded = exchange.reminded(due, date(2027, 3, 9))
    assert (reminded.content["remind_on"], reminded.content["reminded_at"]) == (None, "2027-03-09")
    starts = reminders.Due("exchange_starts_tomorrow", False, {})
    assert "reminded_at" not in exchange.reminded(starts, date(2027, 4, 11)).content
