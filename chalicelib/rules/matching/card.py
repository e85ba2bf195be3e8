"""The public catalogue card of a registration: what other participants may see of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def card_from_registration(reg: Mapping[str, Any]) -> dict[str, Any]:
    """The public catalogue card: no contact details, birth date, nationality, motivation, user id
    or coordinates; the representative's name is the only personal data it carries."""
    org = as_dict(reg.get("organisation"))
    rep = as_dict(reg.get("representative"))
    prefs = as_dict(reg.get("preferences"))
    hosting = reg.get("hosting")
    return {
        "id": reg.get("id"),
        "roles": as_list(reg.get("roles")),
        "partnership_id": reg.get("partnership_id"),
        "organisation": {
            "name": org.get("name"),
            "type": org.get("type"),
            "country": org.get("country"),
            "city": org.get("city"),
            "website": org.get("website"),
            "cluster_name": org.get("cluster_name"),
            "ecosystems": as_list(org.get("ecosystems")),
            "description": org.get("description"),
            "expertise": as_list(org.get("expertise")),
        },
        "representative": {"first_name": rep.get("first_name"), "last_name": rep.get("last_name")},
        "languages": as_list(rep.get("languages")),
        "preferences": {
            "countries": as_list(prefs.get("countries")),
            "ecosystems": as_list(prefs.get("ecosystems")),
            "organisation_types": as_list(prefs.get("organisation_types")),
            "objectives": as_list(prefs.get("objectives")),
            "available_from": prefs.get("available_from"),
            "available_to": prefs.get("available_to"),
            "virtual_ok": prefs.get("virtual_ok"),
        },
        "hosting": (
            {"capacity": hosting.get("capacity"), "offer": hosting.get("offer")}
            if isinstance(hosting, dict)
            else None
        ),
    }
