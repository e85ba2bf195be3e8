"""Paging matches and the catalogue over HTTP with the signed cursor codec (chalicelib.cursors):
every candidate once, in order; cursors not issued for this caller and this list answer 400."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from tests.api.helpers import body
from tests.api.test_matching_contacts import _profile, get
from tests.api.test_matching_contacts import world as world  # the fixture, shared

HOSTS = [
    # Four alike hosts (tied scores, so the id decides their order) and three that differ.
    ("Alike One", "AT", "Wien", 48.2, 16.37, ["digital"]),
    ("Alike Two", "BE", "Gent", 51.05, 3.72, ["digital"]),
    ("Alike Three", "CZ", "Brno", 49.19, 16.6, ["digital"]),
    ("Alike Four", "DK", "Aarhus", 56.16, 10.2, ["digital"]),
    ("Solar Cluster", "FI", "Oulu", 65.01, 25.47, ["energy_renewables", "digital"]),
    ("Food Hub", "SE", "Lund", 55.7, 13.19, ["agri_food"]),
    ("Digital Grid Labs", "FR", "Lyon", 45.76, 4.84, ["digital", "energy_renewables"]),
]


@pytest.fixture
def crowd(world):
    """The shared world plus seven more hosts abroad, so the Italian visitor has nine matches."""
    for name, country, city, lat, lon, ecosystems in HOSTS:
        email = f"{name.lower().replace(' ', '.')}@hosts.example"
        description = "A digital cluster." if name.startswith("Alike") else f"{name} on {ecosystems[0]}."
        data = _profile(
            name, country, city, lat, lon, ["host"], ecosystems, email=email, description=description
        )
        world.add(name, data)
    world.settle()
    return world


def error_code(response):
    return body(response)["error"]["code"]


def walk(client, path, tok, limit):
    """Every item over all pages of `path`, following next_cursor; also the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        response = get(client, url, tok)
        assert response.status_code == 200, response.body
        page = body(response)
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50


def match_keys(items):
    return [(m["registration"]["id"], m["score"]) for m in items]


def test_garbage_matches_cursor_is_400(client, world):
    tok = world.people["visitor_it"].token
    for cursor in ("garbage", "a.b", "e30.AAAAAAAAAAAAAAAAAAAAAA", "%5B" * 30):
        response = get(client, f"/v1/matches?cursor={cursor}", tok)
        assert response.status_code == 400, (cursor, response.body)
        assert error_code(response) == "INVALID_CURSOR"


def test_paging_through_matches_yields_each_candidate_once_in_order(client, crowd):
    tok = crowd.people["visitor_it"].token
    everything = body(get(client, "/v1/matches?limit=100", tok))
    assert everything["next_cursor"] is None
    assert len(everything["items"]) == 9  # the German, the Dutch and the seven new hosts
    for limit in (1, 2, 4, 9):
        paged, pages = walk(client, "/v1/matches", tok, limit)
        assert match_keys(paged) == match_keys(everything["items"])
        assert pages == -(-9 // limit)
    order = [(-m["score"], m["registration"]["id"]) for m in everything["items"]]
    assert order == sorted(order)
    alike = [m for m in everything["items"] if m["registration"]["organisation"]["name"].startswith("Alike")]
    assert len({m["score"] for m in alike}) == 1  # tied, so the pages had to cut through a tie


def test_a_page_that_ends_on_the_last_match_has_no_next_cursor(client, crowd):
    tok = crowd.people["visitor_it"].token
    page = body(get(client, "/v1/matches?limit=9", tok))
    assert len(page["items"]) == 9
    assert page["next_cursor"] is None
    first = body(get(client, "/v1/matches?limit=8", tok))
    assert isinstance(first["next_cursor"], str)


def test_matches_paging_with_a_role_filter(client, crowd):
    tok = crowd.people["visitor_it"].token
    everything = body(get(client, "/v1/matches?limit=100&role=host", tok))["items"]
    paged, _ = walk(client, "/v1/matches?role=host", tok, 2)
    assert match_keys(paged) == match_keys(everything)
    assert body(get(client, "/v1/matches?role=visitor", tok)) == {"items": [], "next_cursor": None}


def test_a_matches_cursor_is_the_callers_and_the_filters_only(client, crowd):
    p = crowd.people
    cursor = body(get(client, "/v1/matches?limit=2", p["visitor_it"].token))["next_cursor"]
    assert cursor
    # Another participant with matches of their own replays it
    other = get(client, f"/v1/matches?limit=2&cursor={quote(cursor)}", p["host_de"].token)
    assert other.status_code == 400, other.body
    assert error_code(other) == "INVALID_CURSOR"
    # The same caller with another role filter, or on the catalogue
    for path in (f"/v1/matches?role=host&cursor={quote(cursor)}", f"/v1/catalogue?cursor={quote(cursor)}"):
        response = get(client, path, p["visitor_it"].token)
        assert response.status_code == 400, (path, response.body)
        assert error_code(response) == "INVALID_CURSOR"
    # The caller, same filter: fine
    assert (
        get(client, f"/v1/matches?limit=2&cursor={quote(cursor)}", p["visitor_it"].token).status_code == 200
    )


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_catalogue_cursors_not_issued_by_the_service_are_400(client, world):
    tok = world.people["visitor_it"].token
    real = body(get(client, "/v1/catalogue?limit=2", tok))["next_cursor"]
    assert real
    payload, tag = real.split(".")
    tampered_payload = b64(json.dumps({"name": "", "id": "reg_" + "0" * 32, "partial": False}))
    forged = [
        "[" * 1000,
        b64("[" * 600),  # what the old codec parsed as JSON (1,000 brackets were a RecursionError)
        b64(json.dumps(["acme iot", "reg_x"])),  # an old-style cursor
        f"{b64('[' * 600)}.{tag}",
        f"{tampered_payload}.{tag}",
        f"{payload}.{tag[:-2]}AA",
        f"{payload[:-1]}.{tag}",
        real + "x",
        real.replace(".", ".."),
        ".",
    ]
    for cursor in forged:
        response = get(client, f"/v1/catalogue?cursor={quote(cursor)}", tok)
        assert response.status_code == 400, (cursor[:40], response.status_code, response.body)
        assert error_code(response) == "INVALID_CURSOR", (cursor[:40], response.body)
    # Longer than any cursor issued: refused by the list query's bound before it is read.
    response = get(client, f"/v1/catalogue?cursor={b64('[' * 1000)}", tok)
    assert response.status_code == 400, response.body


def test_a_catalogue_cursor_is_bound_to_its_filters(client, world):
    p = world.people
    tok = p["visitor_it"].token
    cursor = body(get(client, "/v1/catalogue?limit=1&role=host", tok))["next_cursor"]
    assert cursor
    for query in ("", "&role=visitor", "&role=host&q=iot", "&role=host&country=DE"):
        response = get(client, f"/v1/catalogue?cursor={quote(cursor)}{query}", tok)
        assert response.status_code == 400, (query, response.body)
        assert error_code(response) == "INVALID_CURSOR"
    again = get(client, f"/v1/catalogue?limit=1&role=host&cursor={quote(cursor)}", tok)
    assert again.status_code == 200
    # The catalogue is the same for every accepted participant, so another one may follow it.
    assert (
        get(client, f"/v1/catalogue?limit=1&role=host&cursor={quote(cursor)}", p["host_de"].token).status_code
        == 200
    )


def test_catalogue_paging_follows_the_signed_cursors(client, crowd):
    tok = crowd.people["visitor_it"].token
    everything = body(get(client, "/v1/catalogue?limit=100", tok))
    assert everything["next_cursor"] is None
    for limit in (1, 3, 5):
        paged, _ = walk(client, "/v1/catalogue", tok, limit)
        assert [c["id"] for c in paged] == [c["id"] for c in everything["items"]]
