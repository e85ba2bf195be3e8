"""CORS as a browser sees it: a preflight, and errors (the app's and the gateway's) it can read."""

from __future__ import annotations

import json

import pytest

from chalicelib.settings import get_settings
from tests.api.conftest import auth

ORIGIN = "http://localhost:3000"  # the test environment's first allowed origin


def test_the_test_origin_is_allowed():
    assert get_settings().allowed_origins[0] == ORIGIN


def test_a_preflight_names_the_routes_methods_and_the_token_header(client):
    # Given a browser about to POST a registration with a bearer token
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    # When it asks first
    response = client.http.request("OPTIONS", "/v1/registrations", headers=headers)
    # Then it may, from this origin, without a token on the preflight
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"].split(",")
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower().split(",")
    assert {"authorization", "content-type"} <= set(allowed_headers)


def test_an_app_error_carries_the_cors_headers_and_exposes_the_request_id(client, token):
    # When a browser sends an invalid registration
    headers = {**auth(token()), "Origin": ORIGIN}
    response = client.http.post("/v1/registrations", headers=headers, body=json.dumps({"roles": 7}))
    # Then it can read the error, the request id, and nothing is cached
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"].split(",")
    assert response.headers["X-Request-Id"]
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.body)["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("path", ["/v1/me", "/v1/no-such-route"])
def test_gateway_errors_carry_the_cors_headers(client, path):
    # When the gateway itself answers (no token: 401; no route: 404)
    response = client.http.get(path, headers={"Origin": ORIGIN})
    # Then a browser on the web app's origin can still read it
    assert response.status_code in (401, 404)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_another_origin_gets_no_cors_grant(client):
    response = client.http.get("/v1/health", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"
