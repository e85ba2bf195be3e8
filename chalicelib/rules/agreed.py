"""What the lump sum depends on, as the parties agreed it (RULES.md "What the lump sum depends on"): the
two organisations' places and the distance between them, the host country, the dates, working days and
mode. Fixed when the exchange is validated and changed only by an amendment the parties sign again, so
a registration edited afterwards changes nothing. Pure: no AWS, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from chalicelib.rules import RuleViolation
from chalicelib.rules.distance import NEARBY_KM, Location, great_circle_km
from chalicelib.rules.lump_sum import LumpSumFacts


@dataclass(frozen=True)
class AgreedPlace:
    city: str
    country: str
    location: Location

    def as_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "country": self.country,
            "location": {"lat": self.location.lat, "lon": self.location.lon},
        }


@dataclass(frozen=True)
class AgreedFacts:
    visitor: AgreedPlace
    host: AgreedPlace
    # Measured once, when agreed: what the parties signed for stays the same if the measure is refined.
    distance_km: float
    host_country: str
    start_date: date
    end_date: date
    working_days: int
    mode: str  # "physical" or "virtual"

    @property
    def nearby(self) -> bool:
        """Strictly less than NEARBY_KM apart: exactly 200 km is not nearby."""
        return self.distance_km < NEARBY_KM

    def lump_sum_facts(self) -> LumpSumFacts:
        return LumpSumFacts(
            host_country=self.host_country,
            start_date=self.start_date,
            working_days=self.working_days,
            distance_km=self.distance_km,
            mode=self.mode,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "visitor": self.visitor.as_dict(),
            "host": self.host.as_dict(),
            "distance_km": self.distance_km,
            "host_country": self.host_country,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "working_days": self.working_days,
            "mode": self.mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AgreedFacts:
        """The facts as stored; none stored is a violation, never a guess from today's registrations."""
        if not data:
            raise RuleViolation("NO_AGREED_FACTS", "The exchange has no agreed facts to pay its lump sum on.")
        return cls(
            visitor=_stored_place(data["visitor"]),
            host=_stored_place(data["host"]),
            distance_km=float(data["distance_km"]),
            host_country=str(data["host_country"]),
            start_date=date.fromisoformat(data["start_date"]),
            end_date=date.fromisoformat(data["end_date"]),
            working_days=int(data["working_days"]),
            mode=str(data["mode"]),
        )


def _stored_place(data: Mapping[str, Any]) -> AgreedPlace:
    location = data["location"]
    return AgreedPlace(
        str(data["city"]), str(data["country"]), Location(float(location["lat"]), float(location["lon"]))
    )


def _place(registration: Mapping[str, Any]) -> AgreedPlace:
    organisation = registration.get("organisation") or {}
    found = organisation.get("location") or {}
    try:
        if not (organisation.get("city") and organisation.get("country")):
            raise ValueError("no city or country")
        location = Location(float(found["lat"]), float(found["lon"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleViolation(
            "NO_AGREED_LOCATION",
            f"Registration {registration.get('id')} has no usable city, country and location to agree on.",
            "organisation.location",
        ) from exc
    return AgreedPlace(str(organisation["city"]), str(organisation["country"]), location)


def _schedule(exchange: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "start_date": date.fromisoformat(str(exchange["start_date"])),
        "end_date": date.fromisoformat(str(exchange["end_date"])),
        "working_days": int(exchange.get("working_days") or 0),
        "mode": str(exchange.get("mode") or "physical"),
    }


def agree(
    visitor_registration: Mapping[str, Any], host_registration: Mapping[str, Any], exchange: Mapping[str, Any]
) -> AgreedFacts:
    """The facts of a validation: the parties' places as registered now, the exchange's dates, working
    days (as the exchange rules counted them) and mode."""
    visitor, host = _place(visitor_registration), _place(host_registration)
    return AgreedFacts(
        visitor=visitor,
        host=host,
        distance_km=great_circle_km(visitor.location, host.location),
        host_country=host.country,
        **_schedule(exchange),
    )


def amend(agreed: AgreedFacts, exchange: Mapping[str, Any]) -> AgreedFacts:
    """An amendment (an extension) changes the dates it is about; the places stay as they were signed."""
    return replace(agreed, **_schedule(exchange))
