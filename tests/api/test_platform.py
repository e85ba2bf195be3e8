"""The platform over HTTP: reference routes, the token check, the error model, the OpenAPI document."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate

from infra.seed import seed_partnerships
from tests.api.conftest import auth


def body(response):
    return json.loads(response.body)


def test_health_is_public(client):
    # When
    response = client.http.get("/v1/health")
    # Then
    assert response.status_code == 200
    assert body(response)["status"] == "ok"


def test_countries_carry_eligibility_and_rates_from_data(client):
    items = {c["code"]: c for c in body(client.http.get("/v1/reference/countries"))["items"]}
    assert items["PT"] == {"code": "PT", "name": "Portugal", "eligible": True, "lump_sum_eur": 780}
    assert items["XK"]["eligible"] is True
    assert items["NO"]["eligible"] is False
    assert items["CH"]["eligible"] is False
    assert items["NO"]["lump_sum_eur"] is None
    assert sum(1 for c in items.values() if c["eligible"]) == 38


def test_ecosystems_and_organisation_types(client):
    ecosystems = body(client.http.get("/v1/reference/ecosystems"))["items"]
    assert {e["code"] for e in ecosystems} >= {"digital", "textiles", "tourism"}
    assert len(ecosystems) == 14
    types = {t["code"]: t for t in body(client.http.get("/v1/reference/organisation-types"))["items"]}
    assert types["large_company"]["may_visit"] is False
    assert types["large_company"]["may_host"] is True
    assert types["sme"]["may_visit"] is True


def test_partnerships_are_read_from_the_seeded_table(client):
    # Given
    seeded = seed_partnerships()
    # When
    items = body(client.http.get("/v1/partnerships"))["items"]
    # Then
    assert len(items) == seeded == 6
    epix = next(p for p in items if p["id"] == "epix")
    assert "digital" in epix["ecosystems"]
    assert epix["countries"]


def test_authenticated_route_sees_the_principal(client, token):
    response = client.http.get("/v1/me", headers=auth(token("officer@epix.example", "partnership", "epix")))
    assert response.status_code == 200
    me = body(response)
    assert me["roles"] == ["partnership"]
    assert me["partnership_id"] == "epix"
    assert me["email"] == "officer@epix.example"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["no header", "empty bearer", "garbage", "wrong scheme"],
)
def test_missing_or_malformed_token_is_401_with_error_body(client, headers):
    response = client.http.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "UNAUTHORIZED"


def _forge(claims: dict, kid: str = "dummy") -> str:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid})


def test_token_signed_by_another_key_is_401(client, token):
    # Given a real token's claims re-signed with a key that is not the pool's
    claims = jwt.decode(token(), options={"verify_signature": False})
    forged = _forge(claims)
    # When
    response = client.http.get("/v1/me", headers=auth(forged))
    # Then
    assert response.status_code == 401


def _resign_with_pool_key(claims: dict) -> str:
    """Sign claims with the emulator's own Cognito key, as the pool itself would."""
    import gzip
    from importlib import resources

    raw = resources.files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz").read_bytes()
    jwk = json.loads(gzip.decompress(raw))
    key = jwt.PyJWK(jwk["keys"][0] if "keys" in jwk else jwk).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def test_expired_token_is_401_and_a_fresh_one_with_the_same_key_is_not(client, token):
    # Given a real token's claims, signed with the pool's key, once fresh and once expired
    claims = jwt.decode(token(), options={"verify_signature": False})
    now = int(time.time())
    fresh = _resign_with_pool_key({**claims, "iat": now, "exp": now + 600})
    expired = _resign_with_pool_key({**claims, "iat": now - 7200, "exp": now - 3600})
    # When / Then
    assert client.http.get("/v1/me", headers=auth(fresh)).status_code == 200
    response = client.http.get("/v1/me", headers=auth(expired))
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "UNAUTHORIZED"


def test_token_from_another_issuer_is_401(client, token):
    claims = jwt.decode(token(), options={"verify_signature": False})
    other = _resign_with_pool_key({**claims, "iss": "https://cognito-idp.eu-west-1.amazonaws.com/other-pool"})
    assert client.http.get("/v1/me", headers=auth(other)).status_code == 401


def test_token_for_another_audience_is_401(client, token, aws, monkeypatch):
    from chalicelib.settings import get_settings

    real = token()
    monkeypatch.setenv("CXC_APP_CLIENT_ID", "some-other-client")
    get_settings.cache_clear()
    response = client.http.get("/v1/me", headers=auth(real))
    assert response.status_code == 401


def test_unknown_route_is_404_with_error_body(client):
    response = client.http.get("/v1/nowhere")
    assert response.status_code == 404
    assert body(response)["error"]["code"] == "NOT_FOUND"


def test_unknown_query_parameter_is_400_naming_it(client):
    response = client.http.get("/v1/health?foo=1")
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "foo"


def test_openapi_document_is_valid_and_lists_every_route(client):
    # Given
    from app import app

    # When
    document = body(client.http.get("/v1/openapi.json"))
    # Then
    validate(document)
    served = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    routed = {
        (path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"
    }
    assert routed == served
    assert document["paths"]["/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/v1/health"]["get"]["security"] == []


def test_an_unexpected_error_is_a_generic_500_logged_with_the_correlation_id(client, monkeypatch, caplog):
    # Given a service that fails in a way no handler expects
    from chalicelib.services import reference as service

    def broken():
        raise RuntimeError("database on fire: secret detail")

    monkeypatch.setattr(service, "countries", broken)
    # When
    response = client.http.get("/v1/reference/countries")
    # Then the client learns nothing internal
    assert response.status_code == 500
    error = body(response)["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.body.decode()
    # And the log has the failure with the request's correlation id
    from chalicelib.observability import logger

    request_id = response.headers["X-Request-Id"]
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    failure = json.loads(logger.registered_formatter.format(record))  # the JSON line Lambda would log
    assert request_id and failure["correlation_id"] == request_id
    assert "RuntimeError" in failure["exception"]


def test_the_request_path_does_not_import_the_xray_sdk():
    import subprocess
    import sys

    code = "import app, sys; print('aws_xray_sdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
