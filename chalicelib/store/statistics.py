"""The statistics' counters in DynamoDB: a scope's counter item (one GetItem), a stream record's change
applied once (its marker and the ADD updates in one transaction), a scope's counters written afresh
(the recount), and the stored objects a recount reads through their indexes (no Scan)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib.store import exchanges, payments, registrations
from chalicelib.store.aws import client
from chalicelib.store.models import ExchangeModel, PaymentModel, RegistrationModel, StatisticsModel
from chalicelib.store.writes import StaleVersion, transaction

# The tables whose streams are counted, by short name, and how each one's images become documents.
_FROM_IMAGE = {
    "registrations": registrations.document_from_image,
    "exchanges": exchanges.document_from_image,
    "payments": payments.document_from_image,
}
_NOT_COUNTERS = frozenset({"pk", "updated_at", "expires_at"})


def counter_key(partnership: str | None) -> str:
    """The counter item of a partnership, or of the programme as a whole (None)."""
    return "stats#all" if partnership is None else f"stats#partnership#{partnership}"


def marker_key(table: str, object_id: str, version: str) -> str:
    """The marker of the record that wrote `version` of an object: it was counted."""
    return f"counted#{table}#{object_id}#{version}"


def counted_tables() -> tuple[str, ...]:
    return tuple(_FROM_IMAGE)


def document_from_image(table: str, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stream image of one of the counted tables (by short name) as the store's document."""
    return _FROM_IMAGE[table](image) if image else None


def read(partnership: str | None) -> tuple[dict[str, int], str | None]:
    """A scope's counters and when they last moved (none yet: no counters, None)."""
    item = (
        client("dynamodb")
        .get_item(TableName=StatisticsModel.Meta.table_name, Key={"pk": {"S": counter_key(partnership)}})
        .get("Item")
        or {}
    )
    counters = {name: int(value["N"]) for name, value in item.items() if name not in _NOT_COUNTERS}
    return counters, (item.get("updated_at") or {}).get("S")


def add(marker: str, changes: Mapping[str | None, Mapping[str, int]], now: str, expires: datetime) -> bool:
    """Move each scope's counters by `changes` and write the record's marker, in one transaction on
    condition the marker is not there; False (nothing written) when it is: the record was counted.
    Contended (chalicelib.store.writes) when another transaction held one of the items."""
    try:
        with transaction() as tx:
            mark = StatisticsModel(pk=marker, updated_at=now, expires_at=expires)
            tx.save(mark, condition=StatisticsModel.pk.does_not_exist())
            for partnership, counters in changes.items():
                # A list path: a counter's name is one attribute, whatever characters it holds.
                actions = [Path([name]).add(n) for name, n in sorted(counters.items())]
                tx.update(
                    StatisticsModel(pk=counter_key(partnership)),
                    actions=[*actions, StatisticsModel.updated_at.set(now)],
                )
    except StaleVersion:
        return False
    return True


def replace(partnership: str | None, counters: Mapping[str, int], now: str) -> None:
    """Write a scope's counter item afresh with these counters (the recount)."""
    item: dict[str, Any] = {"pk": {"S": counter_key(partnership)}, "updated_at": {"S": now}}
    item.update({name: {"N": str(n)} for name, n in counters.items() if n})
    client("dynamodb").put_item(TableName=StatisticsModel.Meta.table_name, Item=item)


def registrations_of(partnership: str) -> Iterator[dict[str, Any]]:
    """Every registration that chose the partnership (its index, read to its end)."""
    for model in RegistrationModel.by_partnership.query(partnership):
        yield registrations.to_document(model)


def every_exchange() -> Iterator[dict[str, Any]]:
    for model in ExchangeModel.every.query("exchange"):
        yield exchanges.to_document(model)


def every_payment() -> Iterator[dict[str, Any]]:
    for model in PaymentModel.every.query("payment"):
        yield payments.to_document(model)
