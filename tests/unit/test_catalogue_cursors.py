"""The catalogue and matches cursors (chalicelib.services.catalogue on chalicelib.cursors): exact key
shapes, bound to their list, and small enough for the codec whatever a position holds."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib import cursors
from chalicelib.errors import InvalidInput
from chalicelib.rules.matching.catalogue import catalogue_page
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.query import POSITION_NAME_CHARS, CatalogueQuery
from chalicelib.services import catalogue as service
from infra.synthetic import registration


def refused(scope, cursor, shape):
    with pytest.raises(InvalidInput) as caught:
        cursors.decode(scope, cursor, shape)
    assert caught.value.code == "INVALID_CURSOR"


def signed(scope, raw_payload):
    """A cursor whose tag is right for `scope` but whose payload we never issue."""
    payload = base64.urlsafe_b64encode(raw_payload.encode()).decode().rstrip("=")
    return f"{payload}.{cursors._tag(scope, payload)}"


def test_the_largest_positions_fit_the_codec():
    # Any character may be escaped to 12 bytes; ids are at most 64 characters.
    name = "\U0001f600" * POSITION_NAME_CHARS
    key = service.CatalogueCursor(name=name, id="r" * 64, partial=True)
    cursor = cursors.encode("catalogue:" + "x" * 200, key)
    assert len(cursor) <= cursors.MAX_CURSOR_CHARS
    assert cursors.decode("catalogue:" + "x" * 200, cursor, service.CatalogueCursor) == key
    cursor = cursors.encode("matches:x", service.MatchesCursor(score_milli=1000, id="r" * 64))
    assert len(cursor) <= cursors.MAX_CURSOR_CHARS


def test_a_position_after_any_name_fits():
    # NFKD expands some characters many times over ("\ufdfa" folds to 18 characters).
    odd = registration("reg_odd", organisation={"name": "\ufdfa" * 200, "country": "DE"})
    other = registration("reg_zz", organisation={"name": "\U0001f600" * 200, "country": "FR"})
    index = MatchIndex.build([odd, other])
    _, after = catalogue_page(index, CatalogueQuery(), 1)
    assert after is not None and after.partial
    key = service.CatalogueCursor(name=after.name, id=after.id, partial=after.partial)
    assert len(cursors.encode("catalogue:[]", key)) <= cursors.MAX_CURSOR_CHARS


def test_shapes_are_exact():
    scope = service._catalogue_scope(CatalogueQuery())
    for payload in (
        "[" * 600,
        json.dumps(["acme", "reg_1"]),
        json.dumps({"name": "acme", "id": "reg_1"}),  # partial missing
        json.dumps({"name": "acme", "id": "reg_1", "partial": "false"}),
        json.dumps({"name": "acme", "id": "reg_1", "partial": False, "extra": 1}),
        json.dumps({"name": "a" * (POSITION_NAME_CHARS + 1), "id": "reg_1", "partial": True}),
        json.dumps({"name": "acme", "id": "", "partial": False}),
    ):
        refused(scope, signed(scope, payload), service.CatalogueCursor)
    for payload in (
        json.dumps({"score_milli": 1001, "id": "reg_1"}),
        json.dumps({"score_milli": -1, "id": "reg_1"}),
        json.dumps({"score_milli": 0.5, "id": "reg_1"}),
        json.dumps({"score_milli": True, "id": "reg_1"}),
        json.dumps({"score_milli": "500", "id": "reg_1"}),
    ):
        refused("matches:reg_1:any", signed("matches:reg_1:any", payload), service.MatchesCursor)


def test_every_filter_is_part_of_the_catalogue_scope():
    queries = [
        CatalogueQuery(),
        CatalogueQuery(role="host"),
        CatalogueQuery(country="DE"),
        CatalogueQuery(ecosystem="digital"),
        CatalogueQuery(organisation_type="sme"),
        CatalogueQuery(language="en"),
        CatalogueQuery(q="iot"),
        CatalogueQuery(available_from="2027-05-01"),
        CatalogueQuery(available_to="2027-05-01"),
    ]
    scopes = {service._catalogue_scope(q) for q in queries}
    assert len(scopes) == len(queries)
    key = service.CatalogueCursor(name="acme", id="reg_1", partial=False)
    cursor = cursors.encode(service._catalogue_scope(queries[1]), key)
    for other in queries[:1] + queries[2:]:
        refused(service._catalogue_scope(other), cursor, service.CatalogueCursor)


def test_a_matches_scope_names_the_caller_and_the_role():
    scopes = {
        service._matches_scope({"id": reg_id}, role)
        for reg_id in ("reg_a", "reg_b")
        for role in (None, "host", "visitor")
    }
    assert len(scopes) == 6
