"""The rules an exchange's dates, parties and plan must meet (RULES.md, "Exchange duration" and "The
exchange: parties and documents"). Pure: the facts come in already parsed, reference data as
`ReferenceData`, the public holidays from the `holidays` package's data (see `calendar`).

`check_exchange` reports every broken rule (each a `RuleViolation`, a 422 code) and every warning (a
`{code, message}` the service returns with the exchange without refusing it), plus the working days and
the skipped holidays the response shows.

The border and the "visits only once" rules are `pairing`'s predicates, so they read the same for a
contact request, a match and an exchange.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from chalicelib import reference
from chalicelib.reference import ReferenceData
from chalicelib.rules import RuleViolation, pairing
from chalicelib.rules.calendar import WorkingDays, last_allowed_end, working_days

MIN_WORKING_DAYS = 3
MAX_TRAVEL_DAYS = 2

PHYSICAL = "physical"
VIRTUAL = "virtual"


@dataclass(frozen=True, kw_only=True)
class ExchangeFacts:
    """What the exchange rules look at, already parsed from the request and the two registrations.

    `host_overlapping_exchanges` counts the host's other exchanges whose dates overlap this one's (not
    this one). Availability windows may be open at either end (None)."""

    start_date: date
    end_date: date
    travel_days_before: int = 0
    travel_days_after: int = 0
    mode: str = PHYSICAL
    objectives: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    visitor_country: str
    host_country: str
    visitor_already_visited: bool = False
    visitor_available_from: date | None = None
    visitor_available_to: date | None = None
    host_available_from: date | None = None
    host_available_to: date | None = None
    host_capacity: int = 1
    host_overlapping_exchanges: int = 0


class ExchangeCheck(NamedTuple):
    """The outcome of `check_exchange`. `working_days` is None when the dates are reversed or longer than
    a month (then nothing was counted)."""

    violations: list[RuleViolation]
    warnings: list[dict[str, str]]
    working_days: WorkingDays | None

    @property
    def ok(self) -> bool:
        return not self.violations

    def skipped_holidays(self) -> list[dict[str, str]]:
        """`skipped_holidays` as the response shows it (empty when nothing was counted)."""
        return self.working_days.skipped_holidays() if self.working_days else []


def _warning(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _valid_travel_days(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TRAVEL_DAYS


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, held at the calendar's ends."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def _window(available_from: date | None, available_to: date | None) -> str:
    return f"{available_from.isoformat() if available_from else '…'} to " + (
        available_to.isoformat() if available_to else "…"
    )


def _outside(first: date, last: date, available_from: date | None, available_to: date | None) -> bool:
    return (available_from is not None and first < available_from) or (
        available_to is not None and last > available_to
    )


def _unknown(codes: Iterable[str], known: frozenset[str]) -> list[str]:
    # dict.fromkeys keeps the client's order and drops repeats, so the message reads like the request.
    return [code for code in dict.fromkeys(codes) if code not in known]


def date_violations(facts: ExchangeFacts) -> tuple[list[RuleViolation], WorkingDays | None]:
    """The duration rules: the end not before the start, at most one month, at least three working days
    at the host (travel days not counted), and 0 to 2 travel days each side."""
    violations: list[RuleViolation] = []
    counted: WorkingDays | None = None
    start, end = facts.start_date, facts.end_date
    if end < start:
        violations.append(
            RuleViolation("END_BEFORE_START", f"end_date {end} is before start_date {start}", "end_date")
        )
    elif end > (last := last_allowed_end(start)):
        violations.append(
            RuleViolation(
                "LONGER_THAN_ONE_MONTH",
                f"an exchange lasts at most one month: starting on {start}, it must end by {last}",
                "end_date",
            )
        )
    else:
        counted = working_days(facts.host_country, start, end)
        if counted.count < MIN_WORKING_DAYS:
            skipped = "".join(f"; {day} is {name}" for day, name in counted.skipped)
            violations.append(
                RuleViolation(
                    "TOO_FEW_WORKING_DAYS",
                    f"an exchange needs at least {MIN_WORKING_DAYS} working days at the host "
                    f"(Monday to Friday, less the host country's public holidays, travel days not counted); "
                    f"{start} to {end} has {counted.count}{skipped}",
                    "end_date",
                )
            )
    for field in ("travel_days_before", "travel_days_after"):
        value = getattr(facts, field)
        if not _valid_travel_days(value):
            violations.append(
                RuleViolation(
                    "INVALID_TRAVEL_DAYS",
                    f"{field} must be a whole number from 0 to {MAX_TRAVEL_DAYS}, not {value!r}",
                    field,
                )
            )
    return violations, counted


def party_violations(facts: ExchangeFacts) -> list[RuleViolation]:
    """Transnational, and a visitor visits only once (the service may set `field` to what the request
    named the parties by)."""
    violations: list[RuleViolation] = []
    visitor_country = pairing.country_code(facts.visitor_country)
    host_country = pairing.country_code(facts.host_country)
    if not pairing.transnational(visitor_country, host_country):
        violations.append(
            RuleViolation(
                "SAME_COUNTRY",
                "Visitor and host must be in different countries (a transnational exchange).",
            )
        )
    visitor_roles = pairing.open_roles(pairing.VISITOR, facts.visitor_already_visited)
    if not pairing.may_visit(visitor_roles, pairing.HOST):
        violations.append(
            RuleViolation(
                "VISITOR_ALREADY_VISITED",
                "The visitor already has an exchange; a visitor visits only once.",
            )
        )
    return violations


def plan_violations(
    facts: ExchangeFacts, ref: ReferenceData, known_activities: frozenset[str]
) -> list[RuleViolation]:
    """At least one objective, and objectives and activities from the reference lists (so no internship
    or work placement: those are not on them)."""
    violations: list[RuleViolation] = []
    if not facts.objectives:
        violations.append(
            RuleViolation("OBJECTIVES_REQUIRED", "name at least one objective of the exchange", "objectives")
        )
    unknown = _unknown(facts.objectives, ref.objectives)
    if unknown:
        violations.append(
            RuleViolation("UNKNOWN_OBJECTIVE", f"not a known objective: {', '.join(unknown)}", "objectives")
        )
    unknown = _unknown(facts.activities, known_activities)
    if unknown:
        violations.append(
            RuleViolation("UNKNOWN_ACTIVITY", f"not a known activity: {', '.join(unknown)}", "activities")
        )
    return violations


def exchange_warnings(facts: ExchangeFacts) -> list[dict[str, str]]:
    """What the parties should know but does not stop the exchange: dates outside a side's availability,
    and a host already hosting as many exchanges at those dates as it said it takes.

    Decision: the visitor is away on its travel days too, so its window is compared with the whole trip
    (travel days included, when they are valid and the exchange is physical); the host's with the stay."""
    start, end = facts.start_date, facts.end_date
    if end < start:
        return []  # reversed dates are END_BEFORE_START; a window compared with them would mislead
    warnings: list[dict[str, str]] = []
    first, last = start, end
    if facts.mode != VIRTUAL:
        if _valid_travel_days(facts.travel_days_before):
            first = _shift(start, -facts.travel_days_before)
        if _valid_travel_days(facts.travel_days_after):
            last = _shift(end, facts.travel_days_after)
    if _outside(first, last, facts.visitor_available_from, facts.visitor_available_to):
        warnings.append(
            _warning(
                "OUTSIDE_VISITOR_AVAILABILITY",
                f"the trip ({first} to {last}) is not within the visitor's availability "
                f"({_window(facts.visitor_available_from, facts.visitor_available_to)})",
            )
        )
    if _outside(start, end, facts.host_available_from, facts.host_available_to):
        warnings.append(
            _warning(
                "OUTSIDE_HOST_AVAILABILITY",
                f"the stay ({start} to {end}) is not within the host's availability "
                f"({_window(facts.host_available_from, facts.host_available_to)})",
            )
        )
    if pairing.host_full(facts.host_capacity, facts.host_overlapping_exchanges):
        warnings.append(
            _warning(
                "HOST_OVER_CAPACITY",
                f"the host takes {facts.host_capacity} exchange(s) at a time and already hosts "
                f"{facts.host_overlapping_exchanges} at these dates",
            )
        )
    return warnings


def check_exchange(
    facts: ExchangeFacts, ref: ReferenceData, known_activities: frozenset[str] | None = None
) -> ExchangeCheck:
    """Every rule the exchange breaks (in a stable order: dates, travel days, parties, plan), its warnings,
    and its working days at the host. No violation means the exchange may be saved.

    `known_activities` defaults to the programme's activity list (`ReferenceData` has no activities)."""
    activities = known_activities if known_activities is not None else frozenset(reference.activities())
    violations, counted = date_violations(facts)
    violations.extend(party_violations(facts))
    violations.extend(plan_violations(facts, ref, activities))
    return ExchangeCheck(violations, exchange_warnings(facts), counted)
