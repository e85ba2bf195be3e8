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
        PartnershipRecord(p.id, p.name, tuple(p.ecosystems or ()), tuple(p.countries or ()))
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
