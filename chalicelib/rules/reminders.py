"""When a reminder falls due, by the business date, and which one: a registration pending more than 14
days (its partnership is nudged), signatures outstanding more than 7 days (whoever still has to sign), a
closing report not filed 14 days after the stay's end (the VO), and the day before a ready exchange
starts (VO and HO, a notice rather than a nudge). Pure: no AWS, no clock.

Each is sent once per condition. An exchange's day (`remind_on`) is set when its condition starts (it
enters a status below, or a new signing round with a new validation) and removed when the condition
ends or the reminder is sent, so the scheduled function finds it once; `condition` names what a
reminder is for, and its message is keyed by it. A registration is pending once in its life: it is due
from its creation date, and reminded of once (`reminded_at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.rules.signing import COMMITMENT_TO_QUALITY, SIGN_ACTION

# "Pending more than 14 days": the reminder falls on the first day it has waited 15.
REGISTRATION_WAIT = timedelta(days=14)
# "Outstanding more than 7 days", from the day the exchange started waiting for the signatures.
SIGNATURE_WAIT = timedelta(days=7)
# "Not filed 14 days after the end date": on the 14th day after it.
REPORT_GRACE = timedelta(days=14)
_MORE_THAN = timedelta(days=1)

# What a reminder's write causes (the outbox): its message, delivered while the condition holds.
REMIND_REGISTRATION = "remind_registration"
REMIND_EXCHANGE = "remind_exchange"

SIGNATURE_REMINDER = "signature_reminder"
REPORT_REMINDER = "report_reminder"
STARTS_TOMORROW = "exchange_starts_tomorrow"
REGISTRATION_REMINDER = "registration_reminder"

# The statuses an exchange is reminded in, and of what (the notice's name).
EXCHANGE_REMINDERS: dict[ExchangeStatus, str] = {
    ExchangeStatus.VALIDATED: SIGNATURE_REMINDER,  # the Commitment to Quality, by all four
    ExchangeStatus.SIGNED: SIGNATURE_REMINDER,  # the financial agreement, by VO and VOP
    ExchangeStatus.READY: STARTS_TOMORROW,
    ExchangeStatus.COMPLETED: REPORT_REMINDER,
}
# The steps each nudge asks for, of those the exchange awaits (exchange_mail.awaited): whoever has not
# taken them yet is reminded.
ASKS: dict[str, frozenset[str]] = {
    SIGNATURE_REMINDER: frozenset(SIGN_ACTION.values()),
    REPORT_REMINDER: frozenset({"submit_report"}),
}
# Reminders that nudge someone to act: their date is shown on the object (`reminded_at`). The day
# before the stay is news, not a nudge.
NUDGES = frozenset({SIGNATURE_REMINDER, REPORT_REMINDER, REGISTRATION_REMINDER})


def _day(value: str) -> date:
    return date.fromisoformat(str(value)[:10])


def registration_remind_on(created_at: str) -> str:
    """The day a registration created at `created_at` (a time) is reminded of, if still pending."""
    return (_day(created_at) + REGISTRATION_WAIT + _MORE_THAN).isoformat()


def registrations_made_by(today: date) -> date:
    """The last day a registration still pending `today` may have been made on to be reminded of now."""
    return today - REGISTRATION_WAIT - _MORE_THAN


def exchange_remind_on(status: ExchangeStatus | str, since: str, doc: Mapping[str, Any]) -> str | None:
    """The day an exchange that entered `status` at `since` (a time) is reminded, if still so; None
    when nothing is reminded in that status. `doc` gives its dates."""
    notice = EXCHANGE_REMINDERS.get(ExchangeStatus(status))
    if notice == SIGNATURE_REMINDER:
        return (_day(since) + SIGNATURE_WAIT + _MORE_THAN).isoformat()
    if notice == REPORT_REMINDER:
        return (_day(doc["end_date"]) + REPORT_GRACE).isoformat()
    if notice == STARTS_TOMORROW:
        return (_day(doc["start_date"]) - timedelta(days=1)).isoformat()
    return None


def waiting_since(remind_on: str) -> str:
    """The day signatures have been awaited since, for a signature reminder due on `remind_on`."""
    return (_day(remind_on) - SIGNATURE_WAIT - _MORE_THAN).isoformat()


@dataclass(frozen=True)
class Due:
    """A reminder to send now: the notice, whether it nudges (`reminded_at` is shown), and its effect's
    arguments: the notice, the condition its delivery checks still holds and keys its message by, and
    for signatures the day they have been awaited since."""

    notice: str
    nudge: bool
    args: dict[str, Any]


def exchange_reminder(doc: Mapping[str, Any], today: date) -> Due | None:
    """The reminder an exchange is due on `today`, if any: its `remind_on` has come, in a status that
    has one. The day before the stay is told only on that day (a late run tells nothing: the stay has
    started, or starts today)."""
    remind_on = doc.get("remind_on")
    notice = EXCHANGE_REMINDERS.get(ExchangeStatus(doc["status"]))
    if not remind_on or notice is None or _day(remind_on) > today:
        return None
    if notice == STARTS_TOMORROW and _day(doc["start_date"]) != today + timedelta(days=1):
        return None
    args: dict[str, Any] = {"notice": notice, "condition": condition(doc)}
    if notice == SIGNATURE_REMINDER:
        args["since"] = waiting_since(str(remind_on))
    return Due(notice, notice in NUDGES, args)


def condition(doc: Mapping[str, Any]) -> str:
    """What an exchange's reminder is for, as one string: the status and its signing round (a new
    validation is a new round), the dates for the stay and the report. A message is sent once per
    condition, however often its reminder is staged."""
    status = ExchangeStatus(doc["status"])
    notice = EXCHANGE_REMINDERS.get(status)
    if notice == SIGNATURE_REMINDER:
        return f"{status}@{doc.get('validated_at')}"
    if notice == STARTS_TOMORROW:
        return f"{status}@{doc['start_date']}"
    return f"{status}@{doc.get('end_date')}"


def backfilled_remind_on(doc: Mapping[str, Any]) -> str | None:
    """For an exchange stored before reminders existed (no `remind_on`, never reminded): the day it would
    have been given, from what it holds. It entered `validated` when it was validated, and `signed`
    with the last signature on the current Commitment to Quality (or at the validation, when the
    signatures were carried)."""
    status = ExchangeStatus(doc["status"])
    if status not in EXCHANGE_REMINDERS:
        return None
    since = str(doc.get("validated_at") or doc.get("updated_at") or "")
    if status == ExchangeStatus.SIGNED:
        signed = [
            str(s.get("at"))
            for s in doc.get("signatures") or ()
            if s.get("document") == COMMITMENT_TO_QUALITY and str(s.get("at")) >= since
        ]
        since = max([since, *signed])
    return exchange_remind_on(status, since, doc) if since else None
