"""Defects found by trying the API as an attacker and as a newcomer would (issue: make the house ready):
deep JSON, forged cursors, control characters, implausible dates, unsafe links, self-approval, caching
of personal data, and log lines that were silently dropped."""

from __future__ import annotations

import base64
import json

import pytest

from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration

OFFICER = ("officer@epix.example", "partnership", "epix")


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
def ada(client, token):
    seed_partnerships()
    tok = token("ada@acme.example")
    created = register(client, tok)
    assert created.status_code == 201, created.body
    return tok, body(created)


# --- 1. no input is a 500 -------------------------------------------------------------------------


def test_a_deeply_nested_body_is_400_not_500(client, ada):
    tok, _ = ada
    # Deeper than the JSON parser recurses on every Python the project runs (3.11 stops near 1,000
    # levels, the runtime's 3.12 near a few thousand).
    response = client.http.patch("/v1/registrations/me", headers=auth(tok), body="[" * 10_000 + "]" * 10_000)
    assert response.status_code == 400, response.body
    assert body(response)["error"]["code"] == "MALFORMED_JSON"
    deep = '{"to": ' + '{"a": ' * 30_000 + "1" + "}" * 30_001
    response = client.http.post("/v1/contact-requests", headers=auth(tok), body=deep)
    assert response.status_code == 400


def _accepted(client, token, email, **changes):
    tok = token(email)
    data = registration(**changes)
    data["representative"]["email"] = email
    created = register(client, tok, data)
    assert created.status_code == 201, created.body
    reg = body(created)
    assert decide(client, token(*OFFICER), reg["id"], "accept").status_code == 200
    return tok, reg


@pytest.mark.parametrize(
    "cursor",
    [
        b64("[" * 1000 + "]" * 1000),
        b64(json.dumps({"id": {"S": "cr_x"}, "created_at": {"S": "x"}})),
        b64(json.dumps({"id": None})),
        "garbage",
        "a.b",
    ],
    ids=["nested", "dynamodb-json", "null-id", "garbage", "bad-tag"],
)
def test_a_cursor_not_issued_for_the_list_is_400_on_every_list(client, token, cursor):
    seed_partnerships()
    tok, _ = _accepted(client, token, "ada@acme.example")
    officer = token(*OFFICER)
    for path, who in (
        (f"/v1/contact-requests?box=incoming&cursor={cursor}", tok),
        (f"/v1/contact-requests?box=outgoing&cursor={cursor}", tok),
        (f"/v1/partnerships/epix/registrations?cursor={cursor}", officer),
    ):
        response = client.http.get(path, headers=auth(who))
        assert response.status_code == 400, (path, response.body)
        assert body(response)["error"]["code"] == "INVALID_CURSOR"


def test_a_box_cursor_works_only_on_its_box_and_for_its_owner(client, token):
    # Given a visitor with three outgoing requests, read two at a time
    seed_partnerships()
    ada, _ = _accepted(client, token, "ada@acme.example")
    hosts = []
    for i, (country, city, lat, lon) in enumerate(
        [("DE", "Berlin", 52.5, 13.4), ("NL", "Delft", 52.0, 4.36), ("FR", "Lyon", 45.76, 4.84)]
    ):
        _, host = _accepted(
            client,
            token,
            f"host{i}@example.org",
            roles=["host"],
            organisation__country=country,
            organisation__city=city,
            organisation__location={"lat": lat, "lon": lon},
            representative__nationality=country,
        )
        hosts.append(host["id"])
    for host_id in hosts:
        sent = client.http.post(
            "/v1/contact-requests", headers=auth(ada), body=json.dumps({"to": host_id, "message": "hello"})
        )
        assert sent.status_code == 201, sent.body
    first = body(client.http.get("/v1/contact-requests?box=outgoing&limit=2", headers=auth(ada)))
    cursor = first["next_cursor"]
    assert len(first["items"]) == 2 and cursor
    # When the cursor is used on the right box, then on the other, then by someone else
    second = body(
        client.http.get(f"/v1/contact-requests?box=outgoing&limit=2&cursor={cursor}", headers=auth(ada))
    )
    other_box = client.http.get(f"/v1/contact-requests?box=incoming&cursor={cursor}", headers=auth(ada))
    host_token = token("host0@example.org")
    other_user = client.http.get(
        f"/v1/contact-requests?box=outgoing&cursor={cursor}", headers=auth(host_token)
    )
    # Then the pages cover everything once, the last page has no cursor, and misuse is 400
    shown = [i["id"] for i in first["items"] + second["items"]]
    assert len(shown) == len(set(shown)) == 3 and second["next_cursor"] is None
    assert other_box.status_code == 400 and body(other_box)["error"]["code"] == "INVALID_CURSOR"
    assert other_user.status_code == 400 and body(other_user)["error"]["code"] == "INVALID_CURSOR"


def test_the_partnership_queue_pages_with_signed_cursors(client, token):
    seed_partnerships()
    for i in range(3):
        tok = token(f"p{i}@example.org")
        data = registration()
        data["representative"]["email"] = f"p{i}@example.org"
        assert register(client, tok, data).status_code == 201
    officer = token(*OFFICER)
    first = body(
        client.http.get("/v1/partnerships/epix/registrations?status=pending&limit=2", headers=auth(officer))
    )
    cursor = first["next_cursor"]
    second = body(
        client.http.get(
            f"/v1/partnerships/epix/registrations?status=pending&cursor={cursor}", headers=auth(officer)
        )
    )
    assert len({r["id"] for r in first["items"] + second["items"]}) == 3 and second["next_cursor"] is None
    # A cursor of the pending filter is not one of the unfiltered list
    other_filter = client.http.get(
        f"/v1/partnerships/epix/registrations?cursor={cursor}", headers=auth(officer)
    )
    assert other_filter.status_code == 400


# --- 5. nobody decides on what they are a party to ---------------------------------------------------


def test_an_officer_may_not_accept_their_own_registration(client, token, aws):
    # Given a user who is a participant and an officer of the partnership its registration names
    seed_partnerships()
    import boto3

    from infra.local.tokens import issue_token

    idp = boto3.client("cognito-idp", region_name="eu-west-1")
    participant = issue_token(idp, aws.user_pool_id, aws.app_client_id, "eve@epix.example", "participant")
    data = registration()
    data["representative"]["email"] = "eve@epix.example"
    reg = body(register(client, participant, data))
    both = issue_token(
        idp, aws.user_pool_id, aws.app_client_id, "eve@epix.example", "participant", "epix", ("partnership",)
    )
    # When it decides on its own registration
    response = decide(client, both, reg["id"], "accept")
    # Then
    assert response.status_code == 403, response.body
    assert body(response)["error"]["code"] == "CONFLICT_OF_INTEREST"
    assert body(client.http.get("/v1/registrations/me", headers=auth(both)))["status"] == "pending"


# --- 6. validation gaps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"representative__date_of_birth": "0001-01-01"}, "representative.date_of_birth"),
        ({"organisation__website": "javascript:alert(1)"}, "organisation.website"),
        ({"organisation__website": "data:text/html,<b>x</b>"}, "organisation.website"),
        ({"organisation__name": "Acme\x00IoT"}, "organisation.name"),
        ({"motivation": "bell \x07 and escape \x1b[31m"}, "motivation"),
        ({"organisation__description": "C1 control \x85 here"}, "organisation.description"),
        ({"organisation__name": "   "}, "organisation.name"),
    ],
)
def test_bad_text_and_dates_are_400_naming_the_field(client, token, changes, field):
    seed_partnerships()
    response = register(client, token(), registration(**changes))
    assert response.status_code == 400, response.body
    assert field in {d.get("field") for d in body(response)["error"]["details"]}


def test_text_keeps_newlines_and_tabs(client, token):
    seed_partnerships()
    response = register(client, token(), registration(motivation="Line one\nline two\tand a tab"))
    assert response.status_code == 201
    assert body(response)["motivation"] == "Line one\nline two\tand a tab"


def test_an_availability_that_ends_before_it_starts_is_refused_on_patch_too(client, ada):
    tok, reg = ada
    response = client.http.patch(
        "/v1/registrations/me",
        headers=auth(tok),
        body=json.dumps({"preferences": {"available_from": "2027-09-01", "available_to": "2027-03-01"}}),
    )
    assert response.status_code == 422, response.body
    assert body(response)["error"]["code"] == "AVAILABILITY_ENDS_BEFORE_IT_STARTS"
    # Moving only the end before the stored start is refused as well
    response = client.http.patch(
        "/v1/registrations/me",
        headers=auth(tok),
        body=json.dumps({"preferences": {"available_to": "2027-02-01"}}),
    )
    assert response.status_code == 422
    assert body(client.http.get("/v1/registrations/me", headers=auth(tok)))["version"] == reg["version"]


def test_null_for_a_field_a_registration_cannot_be_without_is_400(client, ada):
    tok, _ = ada
    for patch in ({"organisation": None}, {"organisation": {"name": None}}, {"motivation": None}):
        response = client.http.patch("/v1/registrations/me", headers=auth(tok), body=json.dumps(patch))
        assert response.status_code == 400, (patch, response.body)


# --- 7. personal data is never cached ----------------------------------------------------------------


def test_signed_in_responses_are_not_cached_and_public_ones_may_be(client, ada):
    tok, reg = ada
    for response in (
        client.http.get("/v1/registrations/me", headers=auth(tok)),
        client.http.get("/v1/registrations/me/export", headers=auth(tok)),
        client.http.get(f"/v1/registrations/{reg['id']}", headers=auth(tok)),
        client.http.get("/v1/registrations/reg_" + "0" * 32, headers=auth(tok)),  # errors too
    ):
        assert response.headers.get("Cache-Control") == "no-store", response.headers
    assert "no-store" not in client.http.get("/v1/reference/countries").headers.get("Cache-Control", "")


# --- 4. the app's log lines are written ---------------------------------------------------------------


def test_info_lines_of_the_app_reach_the_log():
    # Given the app imported as Lambda imports it, with the deployed log level
    import os
    import subprocess
    import sys

    code = (
        "import app; from chalicelib.observability import logger; "
        "logger.info('an info line', extra={'k': 1}); logger.warning('a warning line')"
    )
    env = {**os.environ, "LOG_LEVEL": "INFO"}
    # When it logs
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # Then both lines are written, as JSON (Chalice's debug=False used to drop everything below ERROR)
    lines = [
        json.loads(line)
        for line in result.stdout.splitlines() + result.stderr.splitlines()
        if line.startswith("{")
    ]
    assert {"an info line", "a warning line"} <= {line["message"] for line in lines}


def test_every_request_gets_its_own_request_id(client):
    ids = {client.http.get("/v1/health").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5 and "" not in ids
