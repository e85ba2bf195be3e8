"""Great-circle distance and the 200 km threshold."""

from __future__ import annotations

import math

import pytest

from chalicelib.rules.distance import NEARBY_KM, Location, great_circle_km, is_nearby

KM_PER_DEGREE_LATITUDE = 6371.0088 * math.pi / 180  # 111.195 km

PADOVA = Location(45.4064, 11.8768)
VENICE = Location(45.4408, 12.3155)
LISBON = Location(38.7223, -9.1393)
HELSINKI = Location(60.1699, 24.9384)


def _north_of(origin: Location, km: float) -> Location:
    return Location(origin.lat + km / KM_PER_DEGREE_LATITUDE, origin.lon)


def test_padova_venice_is_about_30_km_and_nearby():
    distance = great_circle_km(PADOVA, VENICE)

    assert distance == pytest.approx(34.5, abs=5)
    assert is_nearby(PADOVA, VENICE)


def test_lisbon_helsinki_is_about_3360_km():
    assert great_circle_km(LISBON, HELSINKI) == pytest.approx(3360, rel=0.01)
    assert not is_nearby(LISBON, HELSINKI)


def test_distance_is_symmetric_and_zero_to_itself():
    assert great_circle_km(LISBON, HELSINKI) == pytest.approx(great_circle_km(HELSINKI, LISBON))
    assert great_circle_km(PADOVA, PADOVA) == 0


def test_one_degree_of_latitude_is_111_195_km():
    assert great_circle_km(Location(10, 5), Location(11, 5)) == pytest.approx(111.195, abs=0.001)


def test_199_km_along_a_meridian_is_nearby():
    # Given two points 199 km apart on one meridian
    a = Location(50.0, 10.0)
    b = _north_of(a, 199)
    # Then the distance is right and they count as nearby
    assert great_circle_km(a, b) == pytest.approx(199, abs=0.001)
    assert is_nearby(a, b)


def test_201_km_along_a_meridian_is_not_nearby():
    a = Location(50.0, 10.0)
    b = _north_of(a, 201)

    assert great_circle_km(a, b) == pytest.approx(201, abs=0.001)
    assert not is_nearby(a, b)


def test_threshold_is_200_km():
    assert NEARBY_KM == 200


def test_antipodes_do_not_fail():
    assert great_circle_km(Location(0, 0), Location(0, 180)) == pytest.approx(math.pi * 6371.0088)


@pytest.mark.parametrize(
    ("lat", "lon"), [(91, 0), (-91, 0), (0, 181), (0, -181), (math.nan, 0), (0, math.inf)]
)
def test_out_of_range_coordinates_are_refused(lat, lon):
    with pytest.raises(ValueError):
        Location(lat, lon)
