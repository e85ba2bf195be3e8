"""The alumni directory over HTTP: the participants of a completed exchange opt in (and only they), who
reads the directory and what it shows (the organisation, its completed exchanges and the chosen contact;
nothing else personal), an organisation's edit and a withdrawal showing at once, opt-out, and paging."""

from __future__ import annotations

import json

import pytest

from chalicelib import clock
from chalicelib.store import audit
from chalicelib.store import registrations as registration_store
from tests.api import test_exchanges, test_finalisation
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.api.test_exchanges import get, post
from tests.events.helpers import run_effects

pair = test_exchanges.pair  # an accepted visitor (Acme IoT, IT, epix) and host (Berlin, DE, ce4big)
s3 = test_finalisation.s3
DIRECTORY, MINE = "/v1/alumni", "/v1/me/alumni"
ENTRY_FIELDS = {
    "id", "organisation_name", "country", "ecosystems", "exchanges", "public_contact", "created_at",
    "updated_at", "version",
}  # fmt: skip


def put(client, tok, payload):
    return client.http.put(MINE, headers=auth(tok), body=json.dumps(payload))


def delete(client, tok):
    return client.http.delete(MINE, headers=auth(tok))


def directory(client, tok, query=""):
    response = get(client, DIRECTORY + query, tok)
    assert response.status_code == 200, response.body
    return body(response)


def accepted_participant(client, token, officer, email, **changes):
    """Another accepted participant (a visitor of epix unless told), and its token."""
    tok = token(email)
    data = registration(representative__email=email, **changes)
    created = body(register(client, tok, data))
    assert decide(client, officer, created["id"], "accept").status_code == 200
    return created["id"], tok


def test_participants_of_a_completed_exchange_join_and_the_directory_shows_nothing_else_personal(
    client, pair, aws, s3, token
):
    # Given an exchange whose stay is over, its report not yet approved: not completed
    path = test_finalisation._with_evidence(client, pair, aws, s3)
    early = put(client, pair.visitor, {"public_contact": "alumni@acme.example"})
    assert early.status_code == 422 and body(early)["error"]["code"] == "NO_COMPLETED_EXCHANGE"
    # When the VOP approves the report (its effects delivered), it is completed for both participants
    post(client, f"{path}/closing-report", pair.visitor, test_finalisation.REPORT)
    assert (
        post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"}).status_code == 200
    )
    run_effects(aws)
    assert registration_store.get(pair.host_id)["exchanges"]["completed"][0]["role"] == "host"
    # Then the visitor joins with a contact of its choice, and the host without one
    joined = put(client, pair.visitor, {"public_contact": "Alumni@Acme.example"})
    assert joined.status_code == 200, joined.body
    visitor_entry = body(joined)
    assert visitor_entry["exchanges"] == [{"year": 2027, "host_country": "DE", "role": "visitor"}]
    assert (visitor_entry["organisation_name"], visitor_entry["country"]) == ("Acme IoT", "IT")
    assert visitor_entry["public_contact"] == "alumni@acme.example"
    assert visitor_entry["version"] == 1
    host_entry = body(put(client, pair.host, {}))
    assert host_entry["exchanges"] == [{"year": 2027, "host_country": "DE", "role": "host"}]
    assert host_entry["public_contact"] is None
    assert body(get(client, MINE, pair.visitor)) == visitor_entry
    # And the same again writes nothing
    assert body(put(client, pair.visitor, {"public_contact": "alumni@acme.example"})) == visitor_entry
    # And an accepted participant, partnerships, support and admin read the directory, by country
    _, reader = accepted_participant(client, token, pair.vop, "reader@other.example")
    readers = [
        reader,
        pair.hop,
        token("officer@hempclub.example", "partnership", "hempclub"),
        token("desk@clusterxchange.example", "support"),
        token("root@clusterxchange.example", "admin"),
    ]
    for tok in readers:
        listed = directory(client, tok)
        assert [e["country"] for e in listed["items"]] == ["DE", "IT"] and listed["next_cursor"] is None
    listed = directory(client, reader)
    assert listed["items"] == [host_entry, visitor_entry]
    assert all(set(e) == ENTRY_FIELDS for e in listed["items"])
    # And nothing personal is in it but the contact chosen: no names, e-mails, registration or user ids
    shown = json.dumps(listed)
    for secret in ("ada@acme.example", "hans@bdc.example", "Rossi", pair.visitor_id, pair.host_id, "Padova"):
        assert secret not in shown
    # And filters by country and ecosystem
    assert [e["id"] for e in directory(client, reader, "?country=it")["items"]] == [visitor_entry["id"]]
    assert len(directory(client, reader, "?ecosystem=digital")["items"]) == 2
    assert directory(client, reader, "?ecosystem=textiles")["items"] == []
    # And the entry is in the owner's GDPR export
    held = body(get(client, "/v1/registrations/me/export", pair.visitor))["registration"]["alumni"]
    assert held["public_contact"] == "alumni@acme.example"


def test_who_may_not_read_the_directory_or_join_it(client, pair, token):
    # Given a pending participant, a signed-in user without a registration, and finance
    pending = token("pending@nowhere.example")
    assert register(client, pending).status_code == 201
    newcomer = token("new@nowhere.example")
    finance = token("clerk@epix.example", "finance", "epix")
    # Then
    for tok in (pending, newcomer):
        refused = get(client, DIRECTORY, tok)
        assert refused.status_code == 403 and body(refused)["error"]["code"] == "NOT_ACCEPTED"
    assert get(client, DIRECTORY, finance).status_code == 403
    # An accepted participant without a completed exchange may not join; a user without a
    # registration has no entry to make, read or remove
    refused = put(client, pair.visitor, {"public_contact": "a@b.example"})
    assert refused.status_code == 422 and body(refused)["error"]["code"] == "NO_COMPLETED_EXCHANGE"
    mine = get(client, MINE, pair.visitor)
    assert mine.status_code == 404 and body(mine)["error"]["code"] == "NOT_IN_DIRECTORY"
    assert delete(client, pair.visitor).status_code == 204  # nothing to remove: done already
    for answer in (put(client, newcomer, {}), get(client, MINE, newcomer), delete(client, newcomer)):
        assert answer.status_code == 404
    # And a contact that is not an e-mail address is malformed
    assert put(client, pair.visitor, {"public_contact": "call me"}).status_code == 400


def _completed_in_summary(registration_id: str, year: int = 2027, host_country: str = "DE") -> None:
    """The registration's summary records a completed exchange (as the exchange's effect writes it)."""
    doc = registration_store.get(registration_id)
    assert doc is not None
    record = {"exchange_id": f"exc_{registration_id[4:]}", "year": year, "host_country": host_country}
    summary = {**(doc.get("exchanges") or {}), "completed": [{**record, "role": "visitor"}]}
    now = clock.now_iso()
    entry = audit.entry(
        registration_store.AUDIT_KIND, doc["id"], "registration.exchanges_updated", actor="test",
        roles=None, at=now, fields=("exchanges",),
    )  # fmt: skip
    registration_store.replace({**doc, "exchanges": summary, "updated_at": now}, entry)


def test_an_edit_shows_at_once_a_stale_version_is_refused_and_opting_out_removes_it(client, pair, token):
    # Given the visitor, listed, whose summary records a completed exchange
    _completed_in_summary(pair.visitor_id)
    first = body(put(client, pair.visitor, {"public_contact": "alumni@acme.example"}))
    # When its organisation's name changes
    patched = client.http.patch(
        "/v1/registrations/me",
        headers=auth(pair.visitor),
        body=json.dumps({"organisation": {"name": "Acme Internet of Things"}}),
    )
    assert patched.status_code == 200
    # Then the directory shows the new name, with no step of its own
    [listed] = directory(client, pair.hop)["items"]
    assert listed["organisation_name"] == "Acme Internet of Things"
    # And a change of contact names the version read; a stale one is 409 with the entry as it is
    second = body(put(client, pair.visitor, {"public_contact": "team@acme.example", "version": 1}))
    assert (second["version"], second["public_contact"], second["id"]) == (
        2,
        "team@acme.example",
        first["id"],
    )
    stale = put(client, pair.visitor, {"public_contact": None, "version": 1})
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "VERSION_CONFLICT"
    assert body(stale)["error"]["details"][0]["version"] == 2
    # When it opts out, it is gone at once
    assert delete(client, pair.visitor).status_code == 204
    assert directory(client, pair.hop)["items"] == []
    assert get(client, MINE, pair.visitor).status_code == 404
    # And a new opt-in is a new entry
    again = body(put(client, pair.visitor, {}))
    assert again["id"] != first["id"] and again["version"] == 1


def test_a_withdrawal_takes_the_entry_out_of_the_directory(client, pair):
    # Given the host, listed
    _completed_in_summary(pair.host_id)
    put(client, pair.host, {"public_contact": "alumni@bdc.example"})
    assert len(directory(client, pair.vop)["items"]) == 1
    # When it withdraws from the programme
    assert client.http.delete("/v1/registrations/me", headers=auth(pair.host)).status_code == 202
    # Then it is out of the directory at once, its chosen contact erased
    assert directory(client, pair.vop)["items"] == []
    assert registration_store.get(pair.host_id)["alumni"] is None


COUNTRIES = ["FR", "NL", "ES", "FR", "PT"]


@pytest.fixture
def five_alumni(client, pair, token):
    """Five listed visitors of epix, in these countries, named Alumnus 0 to 4."""
    for i, country in enumerate(COUNTRIES):
        registration_id, tok = accepted_participant(
            client, token, pair.vop, f"alumnus{i}@example.org",
            organisation__name=f"Alumnus {i}", organisation__country=country,
            representative__nationality=country, representative__residence_country=country,
        )  # fmt: skip
        _completed_in_summary(registration_id, year=2027 + i)
        assert put(client, tok, {}).status_code == 200


def test_the_directory_pages_by_country_and_name_with_cursors_bound_to_its_filters(client, pair, five_alumni):
    # When the directory is read two entries at a time
    pages, cursor = [], None
    while True:
        page = directory(client, pair.vop, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        pages.append([e["organisation_name"] for e in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then every entry comes once, by country then name, and the last page hands out no cursor
    assert pages == [["Alumnus 2", "Alumnus 0"], ["Alumnus 3", "Alumnus 1"], ["Alumnus 4"]]
    # And one country's entries page alike
    france = directory(client, pair.vop, "?country=FR&limit=1")
    assert [e["organisation_name"] for e in france["items"]] == ["Alumnus 0"]
    rest = directory(client, pair.vop, f"?country=FR&limit=1&cursor={france['next_cursor']}")
    assert [e["organisation_name"] for e in rest["items"]] == ["Alumnus 3"] and rest["next_cursor"] is None
    # And a cursor is good for the list it came from only
    other = get(client, f"{DIRECTORY}?country=NL&cursor={france['next_cursor']}", pair.vop)
    assert other.status_code == 400 and body(other)["error"]["code"] == "INVALID_CURSOR"
