"""The checked-in gazetteer file is what infra.gazetteer builds from GeoNames today."""

from __future__ import annotations

import gzip

from chalicelib.reference import eligible_countries
from chalicelib.reference.gazetteer import DATA_FILE
from infra.gazetteer import build_lines


def test_the_checked_in_file_is_up_to_date():
    # Given the file the package ships
    shipped = gzip.decompress(DATA_FILE.read_bytes()).decode("utf-8").splitlines()
    # When it is built again from the GeoNames extract
    built = build_lines()
    # Then nothing changed (else: python -m infra.gazetteer)
    assert shipped == built


def test_only_eligible_countries_with_names_and_coordinates():
    lines = gzip.decompress(DATA_FILE.read_bytes()).decode("utf-8").splitlines()
    codes = set()
    for line in lines:
        code, lat, lon, names = line.split("\t")
        codes.add(code)
        assert -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180
        assert all(names.split("|"))
    assert codes == eligible_countries()
