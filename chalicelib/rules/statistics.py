"""The programme's statistics (issue "Statistics"): what one stored registration, exchange or payment adds
to each counter of its scopes (the programme, and the partnership it counts for), the delta a change of
it makes, and the figures read back from the counters. Pure: no AWS, no clock.

Counters are plain numbers kept by the counting function from the streams: a record moves each counter
by contribution(new image) - contribution(old image), so whatever order or number of changes an object
goes through, the counters hold the sum of the objects' current contributions. Durations are kept as
histograms of whole days (one counter per day count) and their medians are worked out when read.

Decisions (RULES.md has no statistics section):
- An exchange counts once, for the VOP ("An exchange counts for the VOP"); a payment too (the VOP pays);
  a registration for the partnership it chose.
- `by_status` counts every object. The other breakdowns count what is in the programme: registrations
  not withdrawn, exchanges not cancelled (their statuses still show in `by_status`).
- An exchange's countries are the agreed ones once validated (what the lump sum is paid on), before that
  those of its parties' summaries; its ecosystems are those both organisations work in, or when they
  share none, those either works in (the exchange counts under each).
- Amended after validation: an extension granted, or a generated agreement in a second version (its
  agreed content changed after a validation: an extension, or a draft sent back after validation and
  edited); counted whatever the exchange's status is now.
- Awaiting signature: validated (the Commitment to Quality to sign) or signed (the financial agreement).
- Days to a decision: from the registration's creation (its submission) to its partnership's decision;
  days to payment: from the payment's creation, which the report's approval causes at once (its outbox
  effect), to the day the bank executed it (`paid_at`). The payment's own date is used rather than the
  exchange's approval time so that a payment's record alone gives its whole contribution (the counting
  function reads nothing); the two differ only when the effect was delayed past midnight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.rules.exchange_guards import EXTENSION_GRANTED
from chalicelib.rules.payment import OPEN, PaymentStatus
from chalicelib.rules.registration import WITHDRAWN
from chalicelib.rules.signing import KINDS

Doc = Mapping[str, Any]  # a stored object, as the store reads it
Counters = dict[str, int]
# What counters are kept for: a partnership (its id), or the programme as a whole (None, which no
# partnership's id can be).
Scope = str | None
PROGRAMME: Scope = None


class Kind(StrEnum):
    """What is counted: the tables whose streams the counting function reads."""

    REGISTRATION = "registrations"
    EXCHANGE = "exchanges"
    PAYMENT = "payments"


# Counter names: a prefix and, for a breakdown, the value counted ("reg_status#pending").
REG_STATUS, REG_TYPE, REG_COUNTRY, REG_DAYS = "reg_status#", "reg_type#", "reg_country#", "reg_decision_days#"
EXC_STATUS, EXC_HOST, EXC_PAIR, EXC_ECOSYSTEM = "exc_status#", "exc_host#", "exc_pair#", "exc_ecosystem#"
EXC_AWAITING_SIGNATURE, EXC_AMENDED = "exc_awaiting_signature", "exc_amended"
PAY_PAID_COUNT, PAY_PAID_EUR = "pay_paid_count", "pay_paid_eur"
PAY_DUE_COUNT, PAY_DUE_EUR = "pay_due_count", "pay_due_eur"
PAY_OVERDUE, PAY_DAYS = "pay_overdue", "pay_paid_days#"

AWAITING_SIGNATURE = frozenset({ExchangeStatus.VALIDATED, ExchangeStatus.SIGNED})


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _days_between(start: Any, end: Any) -> int | None:
    """Whole calendar days (UTC dates) from one time to another; never negative."""
    first, last = _day(start), _day(end)
    if first is None or last is None:
        return None
    return max(0, (last - first).days)


def _counted(*names: str | None) -> Counters:
    return {name: 1 for name in names if name}


def registration_contribution(doc: Doc) -> Counters:
    counters = _counted(REG_STATUS + str(doc["status"]))
    if doc["status"] != WITHDRAWN:
        organisation = doc.get("organisation") or {}
        counters.update(
            _counted(
                REG_TYPE + str(organisation["type"]) if organisation.get("type") else None,
                REG_COUNTRY + str(organisation["country"]) if organisation.get("country") else None,
            )
        )
    decided_at = (doc.get("decision") or {}).get("at")
    days = _days_between(doc.get("created_at"), decided_at)
    if days is not None:
        counters[f"{REG_DAYS}{days}"] = 1
    return counters


def exchange_countries(doc: Doc) -> tuple[str | None, str | None]:
    """(visitor's country, host country): the agreed ones once validated, else the parties' summaries'."""
    agreed = doc.get("agreed") or {}
    visitor = ((agreed.get("visitor") or {}).get("country")) or (doc.get("visitor") or {}).get("country")
    host = agreed.get("host_country") or (doc.get("host") or {}).get("country")
    return visitor, host


def exchange_ecosystems(doc: Doc) -> list[str]:
    visitor = list((doc.get("visitor") or {}).get("ecosystems") or [])
    host = list((doc.get("host") or {}).get("ecosystems") or [])
    shared = [e for e in visitor if e in host]
    return sorted(set(shared or visitor + host))


def amended_after_validation(doc: Doc) -> bool:
    if (doc.get("extension") or {}).get("status") == EXTENSION_GRANTED:
        return True
    documents = doc.get("documents") or {}
    return any(len(documents.get(kind) or []) > 1 for kind in KINDS)


def exchange_contribution(doc: Doc) -> Counters:
    status = ExchangeStatus(doc["status"])
    counters = _counted(
        EXC_STATUS + status,
        EXC_AWAITING_SIGNATURE if status in AWAITING_SIGNATURE else None,
        EXC_AMENDED if amended_after_validation(doc) else None,
    )
    if status != ExchangeStatus.CANCELLED:
        visitor, host = exchange_countries(doc)
        counters.update(
            _counted(
                EXC_HOST + host if host else None,
                f"{EXC_PAIR}{visitor}-{host}" if visitor and host else None,
                *(EXC_ECOSYSTEM + e for e in exchange_ecosystems(doc)),
            )
        )
    return counters


def payment_contribution(doc: Doc) -> Counters:
    status = PaymentStatus(doc["status"])
    amount = int(doc.get("amount_eur") or 0)
    counters: Counters = {}
    if status == PaymentStatus.PAID:
        counters.update({PAY_PAID_COUNT: 1, PAY_PAID_EUR: amount})
        days = _days_between(doc.get("created_at"), doc.get("paid_at"))
        if days is not None:
            counters[f"{PAY_DAYS}{days}"] = 1
    elif status in OPEN:
        counters.update({PAY_DUE_COUNT: 1, PAY_DUE_EUR: amount})
        if doc.get("overdue_since"):
            counters[PAY_OVERDUE] = 1
    return counters


_CONTRIBUTION = {
    Kind.REGISTRATION: registration_contribution,
    Kind.EXCHANGE: exchange_contribution,
    Kind.PAYMENT: payment_contribution,
}
# The partnership an object counts for.
_SCOPE_FIELD = {Kind.REGISTRATION: "partnership_id", Kind.EXCHANGE: "vop", Kind.PAYMENT: "vop"}


def contribution(kind: Kind, doc: Doc) -> Counters:
    """What one stored object adds to each counter of its scopes."""
    return {name: n for name, n in _CONTRIBUTION[kind](doc).items() if n}


def scopes_of(kind: Kind, doc: Doc) -> tuple[Scope, ...]:
    """The programme, and the partnership the object counts for (when it names one)."""
    partnership = doc.get(_SCOPE_FIELD[kind])
    return (PROGRAMME, str(partnership)) if partnership else (PROGRAMME,)


def delta(kind: Kind, old: Doc | None, new: Doc | None) -> dict[Scope, Counters]:
    """Scope -> counter -> change, for a change from `old` to `new` (None: the object did not exist, or
    no longer does); counters that do not move are left out, and scopes with none."""
    moved: dict[Scope, Counters] = defaultdict(dict)
    for doc, sign in ((old, -1), (new, 1)):
        if doc is None:
            continue
        for scope in scopes_of(kind, doc):
            for name, n in contribution(kind, doc).items():
                moved[scope][name] = moved[scope].get(name, 0) + sign * n
    changed = {scope: {k: v for k, v in counters.items() if v} for scope, counters in moved.items()}
    return {scope: counters for scope, counters in changed.items() if counters}


def total(objects: Iterable[tuple[Kind, Doc]]) -> dict[Scope, Counters]:
    """Scope -> counters for these objects from scratch (the recount)."""
    totals: dict[Scope, Counters] = defaultdict(dict)
    for kind, doc in objects:
        for scope, counters in delta(kind, None, doc).items():
            for name, n in counters.items():
                totals[scope][name] = totals[scope].get(name, 0) + n
    return dict(totals)


# --- the figures, from the counters ---------------------------------------------------------------


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as value -> how many times it occurs; the mean of the two middle ones
    for an even count; None for none."""
    counts = sorted((value, n) for value, n in histogram.items() if n > 0)
    size = sum(n for _, n in counts)
    if size == 0:
        return None
    middle = ((size - 1) // 2, size // 2)  # positions (from 0) of the middle one or two values
    found: list[int] = []
    seen = 0
    for value, n in counts:
        found.extend(value for position in middle if seen <= position < seen + n)
        seen += n
    return sum(found) / len(found)


def _breakdown(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    """The counters under a prefix, by what follows it; zeros left out."""
    return {
        name.removeprefix(prefix): n for name, n in sorted(counters.items()) if name.startswith(prefix) and n
    }


def _histogram(counters: Mapping[str, int], prefix: str) -> dict[int, int]:
    return {int(days): n for days, n in _breakdown(counters, prefix).items() if days.isdigit()}


def figures(counters: Mapping[str, int]) -> dict[str, Any]:
    """The figures a scope's counters give (the API's shape, less the scope and time)."""
    c = counters
    return {
        "registrations": {
            "by_status": _breakdown(c, REG_STATUS),
            "by_organisation_type": _breakdown(c, REG_TYPE),
            "by_country": _breakdown(c, REG_COUNTRY),
            "median_days_to_decision": median(_histogram(c, REG_DAYS)),
        },
        "exchanges": {
            "by_status": _breakdown(c, EXC_STATUS),
            "by_host_country": _breakdown(c, EXC_HOST),
            "by_country_pair": _breakdown(c, EXC_PAIR),
            "by_ecosystem": _breakdown(c, EXC_ECOSYSTEM),
            "awaiting_signature": c.get(EXC_AWAITING_SIGNATURE, 0),
            "amended_after_validation": c.get(EXC_AMENDED, 0),
        },
        "payments": {
            "paid": {"count": c.get(PAY_PAID_COUNT, 0), "amount_eur": c.get(PAY_PAID_EUR, 0)},
            "due": {"count": c.get(PAY_DUE_COUNT, 0), "amount_eur": c.get(PAY_DUE_EUR, 0)},
            "overdue": c.get(PAY_OVERDUE, 0),
            "median_days_report_approval_to_payment": median(_histogram(c, PAY_DAYS)),
        },
    }
