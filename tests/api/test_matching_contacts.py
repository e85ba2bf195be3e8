"""Catalogue, matches and contact requests over HTTP, with the index kept current by the real
registrations stream (records read from moto's stream by the local event pump's mappings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from infra.local.event_shapes import scheduled_event
from infra.local.pump import Pump, build_mappings
from infra.resources import Resources
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.events.helpers import REGION, sent_emails

OFFICER = ("officer@epix.example", "partnership", "epix")


def _profile(name, country, city, lat, lon, roles, ecosystems, org_type="cluster_organisation", **extra):
    data = registration(roles=roles)
    data["organisation"].update(
        {
            "name": name,
            "type": org_type,
            "country": country,
            "city": city,
            "location": {"lat": lat, "lon": lon},
            "ecosystems": ecosystems,
            "description": extra.pop("description", f"{name} works on {' and '.join(ecosystems)}."),
            "expertise": extra.pop("expertise", []),
        }
    )
    data["representative"].update(
        {
            "email": extra.pop("email"),
            "nationality": country,
            "residence_country": country,
            "languages": extra.pop("languages", ["en"]),
        }
    )
    if "host" in roles:
        data["hosting"] = {
            "capacity": extra.pop("capacity", 2),
            "offer": extra.pop("offer", "Visits to our members."),
        }
    else:
        data["hosting"] = None
    data["preferences"].update(extra.pop("preferences", {}))
    return data


@pytest.fixture
def world(client, token, aws):
    """Participants registered and decided over HTTP; the stream delivered and the index built."""
    seed_partnerships()
    officer = token(*OFFICER)
    import app as app_module

    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
    )
    sqs = boto3.client("sqs", region_name=REGION)
    resources = Resources(__import__("chalicelib.settings", fromlist=["get_settings"]).get_settings())
    functions = {s.function: getattr(app_module, s.function) for s in resources.event_sources}
    pump = Pump(
        build_mappings(
            resources.event_sources, functions, aws.stream_arns, aws.queue_urls, aws.queue_arns, streams, sqs
        )
    )

    def settle():
        pump.drain()
        app_module.tick(
            scheduled_event(REGION, "arn:aws:events:eu-west-1:123456789012:rule/tick", datetime.now(UTC)),
            None,
        )

    people = {}

    def add(key, data, accept=True):
        user_token = token(data["representative"]["email"])
        created = register(client, user_token, data)
        assert created.status_code == 201, created.body
        reg = body(created)
        if accept:
            assert decide(client, officer, reg["id"], "accept").status_code == 200
        people[key] = SimpleNamespace(id=reg["id"], token=user_token, email=data["representative"]["email"])

    add(
        "visitor_it",
        _profile(
            "Acme IoT", "IT", "Padova", 45.41, 11.88, ["visitor"], ["digital", "energy_renewables"],
            org_type="sme", email="ada@acme.example", languages=["it", "en"], expertise=["iot"],
            preferences={"countries": ["DE", "NL"], "organisation_types": ["cluster_organisation"],
                         "ecosystems": ["digital", "energy_renewables"], "objectives": ["technology_uptake"]},
        ),
    )  # fmt: skip
    add(
        "host_de",
        _profile(
            "Berlin Digital Cluster", "DE", "Berlin", 52.52, 13.40, ["host"],
            ["digital", "energy_renewables"],
            email="hans@bdc.example", languages=["de", "en"], expertise=["iot", "smart grids"],
            offer="Technology uptake programme with IoT and smart grids labs.",
        ),
    )  # fmt: skip
    add(
        "host_nl",
        _profile(
            "Twente Textiles", "NL", "Enschede", 52.22, 6.89, ["host"], ["textiles"], org_type="sme",
            email="els@twente.example", languages=["nl"],
        ),
    )  # fmt: skip
    add(
        "host_it",
        _profile(
            "Milano Digital Hub", "IT", "Milano", 45.46, 9.19, ["host"], ["digital"],
            email="gio@mdh.example", languages=["it", "en"],
        ),
    )  # fmt: skip
    add(
        "visitor_es",
        _profile(
            "Sevilla Agro", "ES", "Sevilla", 37.39, -5.98, ["visitor"], ["agri_food"], org_type="sme",
            email="lucia@agro.example", languages=["es", "en"],
        ),
    )  # fmt: skip
    add(
        "pending_fr",
        _profile(
            "Lyon Pending", "FR", "Lyon", 45.76, 4.84, ["host"], ["digital"], email="zoe@lyon.example",
        ),
        accept=False,
    )  # fmt: skip
    settle()
    return SimpleNamespace(people=people, settle=settle, officer=officer, add=add, pump=pump)


def get(client, path, tok):
    return client.http.get(path, headers=auth(tok))


def post(client, path, tok, payload=None):
    return client.http.post(path, headers=auth(tok), body=json.dumps(payload or {}))


def ids(items, key="id"):
    return [i[key] if key else i for i in items]


def test_matches_rank_an_exact_fit_first_and_never_same_country_or_unaccepted(client, world):
    p = world.people
    # When
    response = get(client, "/v1/matches?limit=10", p["visitor_it"].token)
    # Then
    assert response.status_code == 200
    items = body(response)["items"]
    found = [m["registration"]["id"] for m in items]
    assert found[0] == p["host_de"].id
    assert p["host_nl"].id in found
    assert found.index(p["host_de"].id) < found.index(p["host_nl"].id)
    assert p["host_it"].id not in found  # same country
    assert p["pending_fr"].id not in found  # not accepted
    assert p["visitor_es"].id not in found  # a visitor is offered hosts only
    best = items[0]
    assert 0 <= items[-1]["score"] <= best["score"] <= 1
    assert any("digital" in r and "energy_renewables" in r for r in best["reasons"])
    assert any("DE" in r for r in best["reasons"])


def test_a_host_gets_visitors_and_never_one_who_already_visited(client, world):
    from chalicelib.store import registrations as store
    from chalicelib.store.audit import AuditEntry

    p = world.people
    before = [m["registration"]["id"] for m in body(get(client, "/v1/matches", p["host_de"].token))["items"]]
    assert set(before) == {p["visitor_it"].id, p["visitor_es"].id}
    # Given the Spanish visitor now has an exchange past draft (recorded on the registration)
    doc = store.get(p["visitor_es"].id)
    doc["exchanges"] = {"visited": True, "hosting_periods": []}
    store.replace(
        doc, AuditEntry(entity=f"registration#{doc['id']}", at=doc["updated_at"], actor="test", action="t")
    )
    world.settle()
    # Then
    after = [m["registration"]["id"] for m in body(get(client, "/v1/matches", p["host_de"].token))["items"]]
    assert after == [p["visitor_it"].id]


def test_matches_and_catalogue_are_for_accepted_participants_only(client, world, token):
    pending = world.people["pending_fr"].token
    for path in ("/v1/matches", "/v1/catalogue"):
        response = get(client, path, pending)
        assert response.status_code == 403
        assert body(response)["error"]["code"] == "NOT_ACCEPTED"
    assert get(client, "/v1/catalogue", token("nobody@example.org")).status_code == 403
    assert get(client, "/v1/catalogue", world.officer).status_code == 403  # a role, not a participant


def test_catalogue_filters(client, world):
    p, tok = world.people, world.people["visitor_it"].token

    def search(query):
        response = get(client, f"/v1/catalogue?{query}", tok)
        assert response.status_code == 200, response.body
        return {c["id"] for c in body(response)["items"]}

    accepted = {p[k].id for k in ("visitor_it", "host_de", "host_nl", "host_it", "visitor_es")}
    assert search("limit=100") == accepted
    assert search("role=host&country=DE") == {p["host_de"].id}
    assert search("role=visitor") == {p["visitor_it"].id, p["visitor_es"].id}
    assert search("ecosystem=textiles") == {p["host_nl"].id}
    assert search("type=sme") == {p["visitor_it"].id, p["host_nl"].id, p["visitor_es"].id}
    assert search("language=de") == {p["host_de"].id}
    assert search("q=SMART%20GRIDS") == {p["host_de"].id}
    assert search("q=twente") == {p["host_nl"].id}
    assert search("country=de&role=visitor") == set()


def test_catalogue_cards_hold_no_personal_data(client, world):
    cards = body(get(client, "/v1/catalogue?limit=100", world.people["visitor_it"].token))["items"]
    text = json.dumps(cards)
    for secret in (
        "ada@acme.example",
        "1990-05-01",
        "date_of_birth",
        "email",
        "motivation",
        "user_id",
        "lat",
    ):
        assert secret not in text
    assert cards[0]["representative"].keys() == {"first_name", "last_name"}


def test_catalogue_pagination_covers_everything_once(client, world):
    tok = world.people["visitor_it"].token
    seen, cursor, pages = [], None, 0
    while True:
        path = "/v1/catalogue?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = body(get(client, path, tok))
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    names = [
        c["organisation"]["name"].casefold()
        for c in body(get(client, "/v1/catalogue?limit=100", tok))["items"]
    ]
    assert names == sorted(names)


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "role=boss", "country=Germany", "available_from=2027-13-01", "cursor=%%%",
     "bogus=1", "available_from=0", "available_to=2027-09-30T00:00:00"],
)  # fmt: skip
def test_bad_catalogue_queries_are_400(client, world, query):
    response = get(client, f"/v1/catalogue?{query}", world.people["visitor_it"].token)
    assert response.status_code == 400, response.body
    assert body(response)["error"]["code"] in ("VALIDATION_ERROR", "INVALID_CURSOR", "INVALID_QUERY")


def test_a_reversed_catalogue_window_breaks_the_availability_rule(client, world):
    query = "available_from=2027-05-01&available_to=2027-04-01"
    response = get(client, f"/v1/catalogue?{query}", world.people["visitor_it"].token)
    assert response.status_code == 422, response.body
    assert body(response)["error"]["code"] == "AVAILABILITY_ENDS_BEFORE_IT_STARTS"


def test_the_index_follows_edits_and_erasure(client, world):
    p = world.people
    tok = p["visitor_it"].token
    # When the host edits its description
    patch = client.http.patch(
        "/v1/registrations/me",
        headers=auth(p["host_nl"].token),
        body=json.dumps({"organisation": {"description": "Circular denim and recycled wool."}}),
    )
    assert patch.status_code == 200, patch.body
    world.settle()
    # Then the catalogue searches the new text
    hits = body(get(client, "/v1/catalogue?q=denim", tok))["items"]
    assert [c["id"] for c in hits] == [p["host_nl"].id]
    # When the host withdraws and is erased
    assert client.http.delete("/v1/registrations/me", headers=auth(p["host_de"].token)).status_code == 202
    world.settle()
    # Then it is gone from the catalogue and from matches
    catalogue = {c["id"] for c in body(get(client, "/v1/catalogue?limit=100", tok))["items"]}
    assert p["host_de"].id not in catalogue
    matches = {m["registration"]["id"] for m in body(get(client, "/v1/matches", tok))["items"]}
    assert p["host_de"].id not in matches
    # And a newly accepted host appears
    world.add(
        "host_pt",
        _profile("Porto Digital", "PT", "Porto", 41.15, -8.61, ["host"], ["digital"], email="rui@pd.example"),
    )
    world.settle()
    assert world.people["host_pt"].id in {
        c["id"] for c in body(get(client, "/v1/catalogue?limit=100", tok))["items"]
    }


def test_contact_request_lifecycle_and_permissions(client, world, aws):
    p = world.people
    visitor, host = p["visitor_it"], p["host_de"]
    # When the visitor writes to the host
    created = post(
        client, "/v1/contact-requests", visitor.token, {"to": host.id, "message": "May we visit in April?"}
    )
    # Then
    assert created.status_code == 201, created.body
    world.pump.drain()  # the recipient is mailed while the request is pending (not once it is answered)
    request = body(created)
    assert request["status"] == "pending" and request["from"] == visitor.id and request["to"] == host.id
    assert request["sender"]["organisation_name"] == "Acme IoT"
    assert "from_user" not in request
    # A duplicate is refused; so is a same-country host
    assert (
        post(client, "/v1/contact-requests", visitor.token, {"to": host.id, "message": "again"}).status_code
        == 409
    )
    same = post(client, "/v1/contact-requests", visitor.token, {"to": p["host_it"].id, "message": "hi"})
    assert same.status_code == 422 and body(same)["error"]["code"] == "SAME_COUNTRY"
    both_visitors = post(
        client, "/v1/contact-requests", visitor.token, {"to": p["visitor_es"].id, "message": "hi"}
    )
    assert body(both_visitors)["error"]["code"] == "ROLES_DO_NOT_MATCH"
    unknown = post(client, "/v1/contact-requests", visitor.token, {"to": p["pending_fr"].id, "message": "hi"})
    assert unknown.status_code == 404
    # Lists
    outgoing = body(get(client, "/v1/contact-requests?box=outgoing", visitor.token))["items"]
    incoming = body(get(client, "/v1/contact-requests?box=incoming", host.token))["items"]
    assert [r["id"] for r in outgoing] == [r["id"] for r in incoming] == [request["id"]]
    assert body(get(client, "/v1/contact-requests?box=incoming", visitor.token))["items"] == []
    # Only the recipient answers; a stranger does not even see it
    path = f"/v1/contact-requests/{request['id']}"
    assert post(client, f"{path}/accept", visitor.token).status_code == 403
    assert post(client, f"{path}/accept", p["host_nl"].token).status_code == 404
    no_reason = post(client, f"{path}/decline", host.token, {})
    assert no_reason.status_code == 400
    accepted = post(client, f"{path}/accept", host.token)
    assert accepted.status_code == 200 and body(accepted)["status"] == "accepted"
    again = post(client, f"{path}/decline", host.token, {"reason": "changed my mind"})
    assert again.status_code == 409 and body(again)["error"]["code"] == "NOT_PENDING"
    # The recipient was e-mailed about the request, the sender about the answer
    world.pump.drain()
    mails = {(tuple(m.destinations["ToAddresses"]), m.subject) for m in sent_emails()}
    assert (("hans@bdc.example",), "ClusterXchange: a new contact request") in mails
    assert (("ada@acme.example",), "ClusterXchange: your contact request was accepted") in mails


def test_at_most_five_open_requests_and_declining_frees_a_slot(client, world):
    # Given six more hosts abroad
    countries = [
        ("AT", "Wien", 48.2, 16.37),
        ("BE", "Gent", 51.05, 3.72),
        ("CZ", "Brno", 49.19, 16.6),
        ("DK", "Aarhus", 56.16, 10.2),
        ("FI", "Oulu", 65.01, 25.47),
        ("SE", "Lund", 55.7, 13.19),
    ]
    for code, city, lat, lon in countries:
        world.add(
            code,
            _profile(f"Host {code}", code, city, lat, lon, ["host"], ["digital"], email=f"h@{code}.example"),
        )
    visitor = world.people["visitor_it"]
    sent = []
    for code, *_ in countries[:5]:
        response = post(
            client, "/v1/contact-requests", visitor.token, {"to": world.people[code].id, "message": "hi"}
        )
        assert response.status_code == 201
        sent.append((code, body(response)["id"]))
    # When a sixth is sent
    sixth = post(
        client, "/v1/contact-requests", visitor.token, {"to": world.people["SE"].id, "message": "hi"}
    )
    # Then
    assert sixth.status_code == 422
    assert body(sixth)["error"]["code"] == "TOO_MANY_OPEN_REQUESTS"
    # When one host declines, a slot is free again
    code, request_id = sent[0]
    declined = post(
        client, f"/v1/contact-requests/{request_id}/decline", world.people[code].token, {"reason": "full"}
    )
    assert declined.status_code == 200 and body(declined)["reason"] == "full"
    assert (
        post(
            client, "/v1/contact-requests", visitor.token, {"to": world.people["SE"].id, "message": "hi"}
        ).status_code
        == 201
    )


def test_the_catalogue_snapshot_is_kept_apart_from_uploads(client, world):
    # Given the snapshot built and every queue drained, the documents queue (uploads' check) included
    world.settle()
    world.pump.drain()
    # Then the snapshot is in the artifacts bucket, which the upload check never sees, and still serves
    s3 = boto3.client("s3", region_name=REGION)
    from chalicelib.rules.matching.snapshot import FORMAT_VERSION
    from chalicelib.settings import get_settings
    from chalicelib.store.catalogue import index_key

    settings = get_settings()
    assert s3.list_objects_v2(Bucket=settings.documents_bucket).get("KeyCount", 0) == 0
    assert s3.head_object(Bucket=settings.artifacts_bucket, Key=index_key(FORMAT_VERSION))
    page = body(get(client, "/v1/catalogue?limit=100", world.people["visitor_it"].token))
    assert world.people["host_de"].id in ids(page["items"])


def test_a_rebuild_reads_only_the_changed_registrations_and_equals_a_full_one(client, world):
    from collections import Counter

    from chalicelib.services import catalogue
    from chalicelib.store.models import MetaModel, RegistrationModel

    p = world.people
    tok = p["visitor_it"].token
    # Given one host's edit delivered by the stream (noted, not yet built)
    patch = client.http.patch(
        "/v1/registrations/me",
        headers=auth(p["host_nl"].token),
        body=json.dumps({"organisation": {"description": "Circular denim and recycled wool."}}),
    )
    assert patch.status_code == 200, patch.body
    world.pump.drain()
    assert MetaModel.get("catalogue-index").changed == {p["host_nl"].id}
    calls: Counter[str] = Counter()
    keys: list[int] = []

    def count(event_name, params, **kwargs):
        calls[event_name.split(".")[-1]] += 1
        for request in params.get("RequestItems", {}).values():
            keys.append(len(request["Keys"]))

    events = RegistrationModel._get_connection().connection.client.meta.events
    events.register("provide-client-params.dynamodb.*", count)
    try:
        # When the builder runs
        assert catalogue.rebuild_index_if_stale() == 5
    finally:
        events.unregister("provide-client-params.dynamodb.*", count)
    # Then it read that one registration by id, and no index of the catalogue
    assert calls["BatchGetItem"] == 1 and keys == [1]
    assert calls["Query"] == 0 and calls["Scan"] == 0
    assert not MetaModel.get("catalogue-index").changed
    incremental = body(get(client, "/v1/catalogue?limit=100", tok))["items"]
    assert [c["id"] for c in body(get(client, "/v1/catalogue?q=denim", tok))["items"]] == [p["host_nl"].id]
    # And a full rebuild from the catalogue index gives the same catalogue
    assert catalogue.rebuild_index_if_stale(full=True) == 5
    assert body(get(client, "/v1/catalogue?limit=100", tok))["items"] == incremental
    # And nothing left to do: the next tick reads nothing but the bookkeeping item
    assert catalogue.rebuild_index_if_stale() == 0
