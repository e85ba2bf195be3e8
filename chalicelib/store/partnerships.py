"""Data access for partnerships."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.store.models import PartnershipModel


@dataclass(frozen=True)
class PartnershipRecord:
    id: str
    name: str
    ecosystems: tuple[str, ...]
    countries: tuple[str, ...]


def list_partnerships() -> list[PartnershipRecord]:
    return [
        PartnershipRecord(
            p.id, p.name, tuple(map(str, p.ecosystems or ())), tuple(map(str, p.countries or ()))
        )
        for p in PartnershipModel.query("partnership")
    ]


def put_partnership(record: PartnershipRecord) -> None:
    PartnershipModel(
        kind="partnership",
        id=record.id,
        name=record.name,
        ecosystems=list(record.ecosystems),
        countries=list(record.countries),
    ).save()


def _strings(values: object) -> tuple[str, ...]:
    # A list attribute of strings, as read (PynamoDB types it as a list of its attribute class).
    return tuple(str(v) for v in values or ()) if isinstance(values, list | tuple) else ()
