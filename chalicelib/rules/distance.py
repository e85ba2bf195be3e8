"""Great-circle distance between two organisations and the 200 km "nearby" threshold that halves the
lump sum."""

from __future__ import annotations

import math
from dataclasses import dataclass

# IUGG mean Earth radius; one degree of latitude is then 111.195 km.
EARTH_RADIUS_KM = 6371.0088

# Organisations less than this far apart get half the lump sum (ECCP "about" page).
NEARBY_KM = 200


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        # A bad coordinate would silently yield a wrong lump sum, so refuse it where it is made.
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"latitude out of range: {self.lat}")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"longitude out of range: {self.lon}")


def great_circle_km(a: Location, b: Location) -> float:
    """Haversine distance on a sphere of the mean Earth radius (error under 0.5 % against the ellipsoid)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points, which asin would reject.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def is_nearby(a: Location, b: Location) -> bool:
    """True when strictly less than NEARBY_KM apart: exactly 200 km is not nearby."""
    return great_circle_km(a, b) < NEARBY_KM
