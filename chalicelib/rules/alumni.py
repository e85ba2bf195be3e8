"""The alumni network (RULES.md "Support office and alumni"): who may join it (a participant of a completed
exchange), what a completed exchange adds to its participants' record, and what the opt-in directory
shows of an entry: the organisation's name, country and ecosystems, the year and host country of each
completed exchange, and the contact address the alumnus chose to show; no other personal data. Pure: no
AWS, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chalicelib.rules import RuleViolation
from chalicelib.rules.exchange_flow import ExchangeStatus

# Decision: an exchange is completed for the alumni network once its partnership approved the closing
# report and the evidence (report_approved), whatever the payment's state after that (paid, or closed
# with nothing to pay, e.g. a virtual exchange). A stay that ended without an approved report is not yet
# a completed exchange: the programme has not confirmed that it took place.
COMPLETED = frozenset({ExchangeStatus.REPORT_APPROVED, ExchangeStatus.PAID, ExchangeStatus.CLOSED})


def side_of(exchange: Mapping[str, Any], registration_id: str) -> str | None:
    """Whether the registration is the exchange's visitor or host (None: neither)."""
    for side in ("visitor", "host"):
        if (exchange.get(side) or {}).get("registration_id") == registration_id:
            return side
    return None


def completed_record(exchange: Mapping[str, Any], side: str) -> dict[str, Any]:
    """What a completed exchange adds to a participant's record: its year (of the first day at the
    host), the host's country and the participant's part in it."""
    return {
        "exchange_id": exchange["id"],
        "year": int(str(exchange["start_date"])[:4]),
        "host_country": (exchange.get("host") or {}).get("country"),
        "role": side,
    }


def with_completed(
    records: Iterable[Mapping[str, Any]] | None, added: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The records with these added (an exchange's record replaces its earlier one), in year order. A
    completed exchange stays completed, so nothing is ever taken out."""
    by_exchange = {str(r["exchange_id"]): dict(r) for r in records or ()}
    by_exchange.update((str(r["exchange_id"]), dict(r)) for r in added)
    return sorted(by_exchange.values(), key=lambda r: (r["year"], r["exchange_id"]))


def completed_records(registration_id: str, exchanges: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records of the completed exchanges among these that the registration took part in."""
    found = []
    for exchange in exchanges:
        side = side_of(exchange, registration_id)
        if side is not None and exchange.get("status") in COMPLETED:
            found.append(completed_record(exchange, side))
    return with_completed((), found)


def check_may_join(records: Sequence[Mapping[str, Any]]) -> None:
    if not records:
        raise RuleViolation(
            "NO_COMPLETED_EXCHANGE",
            "Only participants of a completed exchange (its closing report approved) may join the alumni "
            "network.",
        )


def entry_view(registration: Mapping[str, Any]) -> dict[str, Any]:
    """The registration's directory entry as anyone who may read the directory sees it."""
    organisation = registration.get("organisation") or {}
    entry = registration.get("alumni") or {}
    records = (registration.get("exchanges") or {}).get("completed") or []
    return {
        "id": entry["id"],
        "organisation_name": organisation.get("name"),
        "country": organisation.get("country"),
        "ecosystems": list(organisation.get("ecosystems") or []),
        "exchanges": [
            {"year": r["year"], "host_country": r.get("host_country"), "role": r["role"]} for r in records
        ],
        "public_contact": entry.get("public_contact"),
        "created_at": entry["created_at"],
        "updated_at": entry["updated_at"],
        "version": entry["version"],
    }
