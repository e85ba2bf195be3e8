"""Programme reference data (countries, lump sums, code lists), read once from the JSON files beside
this module and handed out as immutable objects. Partnerships are not here: admins manage them in the
partnerships table (services.partnerships)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

_DATA_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    eligible: bool
    lump_sum_eur: int | None


@dataclass(frozen=True)
class OrganisationType:
    code: str
    name: str
    may_visit: bool
    may_host: bool
    requires_cluster_membership: bool


@dataclass(frozen=True)
class LumpSumTable:
    version: str
    valid_from: date
    ceiling_eur: int
    rates: Mapping[str, int]


@dataclass(frozen=True)
class ReferenceData:
    """What the eligibility rules need, so that they stay pure and tests can pass their own data."""

    eligible_countries: frozenset[str]
    country_codes: frozenset[str]
    organisation_types: Mapping[str, OrganisationType]
    ecosystems: frozenset[str]
    objectives: frozenset[str]
    languages: frozenset[str]
    # Which partnerships exist is the partnerships table's answer (services.reference), not a file's.
    partnership_ids: frozenset[str] = frozenset()


def _read(name: str) -> Any:
    return json.loads((_DATA_DIR / name).read_text(encoding="utf-8"))


def _code_names(name: str) -> Mapping[str, str]:
    return MappingProxyType({item["code"]: item["name"] for item in _read(name)})


@cache
def lump_sum_tables() -> tuple[LumpSumTable, ...]:
    """All lump-sum tables, oldest first; a payment uses the last one valid on its start date."""
    tables = (
        LumpSumTable(
            version=item["version"],
            valid_from=date.fromisoformat(item["valid_from"]),
            ceiling_eur=int(item["ceiling_eur"]),
            rates=MappingProxyType({code: int(eur) for code, eur in item["rates"].items()}),
        )
        for item in _read("lump_sums.json")
    )
    return tuple(sorted(tables, key=lambda table: table.valid_from))


@cache
def countries() -> Mapping[str, Country]:
    """Every country a client may name, keyed by ISO alpha-2 code (XK for Kosovo)."""
    tables = lump_sum_tables()
    # The catalogue shows what a visit would pay under the newest table, not the one in force on some date.
    rates: Mapping[str, int] = tables[-1].rates if tables else {}
    return MappingProxyType(
        {
            item["code"]: Country(
                code=item["code"],
                name=item["name"],
                eligible=bool(item["eligible"]),
                lump_sum_eur=rates.get(item["code"]),
            )
            for item in _read("countries.json")
        }
    )


@cache
def eligible_countries() -> frozenset[str]:
    return frozenset(code for code, country in countries().items() if country.eligible)


@cache
def organisation_types() -> Mapping[str, OrganisationType]:
    return MappingProxyType(
        {
            item["code"]: OrganisationType(
                code=item["code"],
                name=item["name"],
                may_visit=bool(item["may_visit"]),
                may_host=bool(item["may_host"]),
                requires_cluster_membership=bool(item["requires_cluster_membership"]),
            )
            for item in _read("organisation_types.json")
        }
    )


@cache
def ecosystems() -> Mapping[str, str]:
    return _code_names("ecosystems.json")


@cache
def objectives() -> Mapping[str, str]:
    return _code_names("objectives.json")


@cache
def activities() -> Mapping[str, str]:
    return _code_names("activities.json")


@cache
def languages() -> Mapping[str, str]:
    """ISO 639-1 code to English name."""
    return _code_names("languages.json")


@cache
def reference_data() -> ReferenceData:
    return ReferenceData(
        eligible_countries=eligible_countries(),
        country_codes=frozenset(countries()),
        organisation_types=organisation_types(),
        ecosystems=frozenset(ecosystems()),
        objectives=frozenset(objectives()),
        languages=frozenset(languages()),
    )
