"""The served OpenAPI document against the code: a bounded, seeded schemathesis run through the app.

The schema is the one the app serves (`GET /v1/openapi.json`), loaded through the app itself, and
every generated request goes to the real Chalice app in-process. Chalice is not a WSGI app, so a thin
WSGI face on Chalice's local gateway (the one `chalice local` and `chalice.test.Client` use) lets
schemathesis' own WSGI transport send every request, including the extra ones some checks make (the
same request without its token, for instance). No port, no thread, no network.

Checks: no 5xx, every status code documented, every body matching its documented schema with the
documented content type; a schema-valid request is never refused as malformed (400) and a
schema-invalid one is never accepted. Programme rules (422), missing objects (404) and state (409)
are not the document's to describe, so they count as accepting valid input.

Signed-in operations run once per role the route admits, with a real token: a participant whose
registration is accepted (a new one per operation, since some operations withdraw or edit it), an
officer of epix, support, finance and admin.

What earlier runs found (lax types, lengths checked after stripping, server errors, undocumented
codes) is pinned at the end: AGREEMENTS where the document and the code agree now, and regression
tests for the former server errors and codes.
"""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
import schemathesis
from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.hypothesis.builder import ApiOperationMark

import chalicelib
from app import app
from chalicelib.handlers.http import ROUTE_DOCS
from infra.local import gateway
from tests.api.population import World, emulated_world

NO_BODY = object()
SEED = 20261122
EXAMPLES_PER_OPERATION = 100
ROLES = ("participant", "partnership", "support", "finance", "admin")

# A cap on each operation's run (pytest-timeout), far above what it needs, so a generator that
# wanders off fails the run instead of stalling CI.
pytestmark = pytest.mark.timeout(120)


class ChaliceWsgi:
    """A WSGI application that hands each request to Chalice's local gateway."""

    def __init__(self, chalice_app: Any) -> None:
        # The gateway itself rather than chalice.test.Client, whose response reading fails on the
        # body-less answer to a CORS preflight (OPTIONS), which schemathesis sends.
        self._gateway = LocalGateway(chalice_app, Config.create())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # The gateway wants the path as sent on the wire, percent-encoding and query string included.
        path = environ.get("RAW_URI") or quote(environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            name[5:].replace("_", "-").title(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            response = self._gateway.handle_request(environ["REQUEST_METHOD"], path, headers, body)
        except LocalGatewayException as exc:  # what API Gateway answers itself (401, 403, 404)
            status, response_headers, content = exc.CODE, exc.headers, exc.body
        else:
            status, response_headers = response["statusCode"], response.get("headers") or {}
            content = response.get("body")
            if response.get("isBase64Encoded"):
                content = base64.b64decode(content)
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [(name, str(value)) for name, value in response_headers.items()],
        )
        if content is None:
            return [b""]
        return [content if isinstance(content, bytes) else str(content).encode()]


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
            # The token is the test's (one per role); who may call what is the authorization matrix's.
            "with-security-parameters": False,
        },
        # The document declares no links, so there is nothing for the stateful phase to chain.
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # A 400 is "malformed or wrong types": for input the document accepts, that is a
            # disagreement between document and code. The rest answer for rules, ids and state.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]},
        },
    }
)


@dataclass(frozen=True)
class Finding:
    """One input on which the served document and the code must agree (accept or refuse it alike)."""

    name: str
    method: str
    path: str
    query: str = ""  # the query string sent, percent-encoded
    body: Any = NO_BODY


@dataclass(frozen=True)
class Answer:
    """An input the route once answered with a 500 or with a status and code its document left out."""

    name: str
    method: str
    sent: str  # the path and query string
    status: int
    code: str
    body: Any = NO_BODY
    role: str = "participant"
    reads_back: bool = False  # what was stored must read back too


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """`positive_data_acceptance`, but for cursors: a cursor is opaque, valid only as the server wrote
    it, which no schema can say; the contract answers any other with 400 INVALID_CURSOR. And for a
    file's announced size, whose limit is the upload kind's rule (413 FILE_TOO_LARGE)."""
    opaque = _error_code(response) == "INVALID_CURSOR" and "cursor" in (case.query or {})
    if response.status_code == 400 and opaque:
        return None
    # A file announced larger than its kind allows is a limit of the kind (an upload form's size, 10 MB
    # for a document, 5 MB for a CV), answered 413 FILE_TOO_LARGE as the contract names it, not bad input.
    if response.status_code == 413 and _error_code(response) == "FILE_TOO_LARGE":
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    valid_data_accepted,
    negative_data_rejection,
    ignored_auth,
]

# Hypothesis mixes constants found in the project's loaded modules into what it generates. Loading
# them all now makes the generated cases depend on the seed only, not on which tests this process ran
# before (with xdist, that varies from run to run).
for _module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    importlib.import_module(_module.name)

gateway.install()  # API Gateway's 401/403 bodies, as in production (conftest's `client` does the same)
WSGI = ChaliceWsgi(app)
SCHEMA = schemathesis.openapi.from_wsgi("/v1/openapi.json", WSGI, config=CONFIG)
DOCUMENT = SCHEMA.raw_schema
PUBLIC_PATHS = sorted(
    path
    for path, operations in DOCUMENT["paths"].items()
    for op in operations.values()
    if op["security"] == []
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each signed-in operation runs once per role the route admits (all five when it names none).
    Refused roles are answered 403 before the input is read; the authorization matrix covers them."""
    if "role" in metafunc.fixturenames:
        operation = ApiOperationMark.get(metafunc.function)
        admitted = ROUTE_DOCS[(operation.path, operation.method.upper())].roles or ROLES
        metafunc.parametrize("role", [role for role in ROLES if role in admitted])


@pytest.fixture(scope="module")
def world(jwks_base_url, tmp_path_factory):
    with emulated_world(jwks_base_url, tmp_path_factory.mktemp("contract")) as built:
        yield built


@pytest.fixture
def token(world: World, role: str) -> str:
    if role == "participant":
        return world.participant(roles=("visitor", "host"), partnership="epix").token
    if role == "partnership":
        return world.officers["epix"].token
    return {"support": world.support, "finance": world.finance, "admin": world.admin}[role].token


@pytest.mark.parametrize("caller", ["anonymous"])
@SCHEMA.include(path=PUBLIC_PATHS).parametrize()
@settings(deadline=None)
def test_public_operations_keep_the_contract(case, caller, world):
    case.call_and_validate(checks=CHECKS)


@SCHEMA.exclude(path=PUBLIC_PATHS).parametrize()
# The token is made once per operation and role on purpose: the examples share it.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_signed_in_operations_keep_the_contract(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


# --- where the document and the code were made to agree -------------------------------------------

# Found by earlier runs: the request models took JSON values of other types than the document states
# (pydantic's lax mode), dates as numbers or datetimes, and checked lengths after stripping; a reversed
# availability window in the catalogue was a 400 where the same rule is a 422 in a registration. Now
# both refuse or both accept each of these.
AGREEMENTS = [
    Finding("a query date as a number is refused by both", "GET", "/v1/catalogue", query="available_from=0"),
    Finding(
        "a query date as a datetime is refused by both",
        "GET",
        "/v1/catalogue",
        query="available_to=2027-09-30T00:00:00",
    ),
    Finding(
        "a body date as a number is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"representative": {"date_of_birth": 631152000}},
    ),
    Finding(
        "a body date as a datetime is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"representative": {"date_of_birth": "1990-05-01T00:00:00"}},
    ),
    Finding(
        "a body boolean as a string is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"preferences": {"virtual_ok": "yes"}},
    ),
    Finding(
        "a body boolean as a number is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"preferences": {"virtual_ok": 1}},
    ),
    Finding(
        "a body integer as a string is refused by both",
        "POST",
        "/v1/registrations/me/cv",
        body={"filename": "cv.pdf", "content_type": "application/pdf", "size": "1024"},
    ),
    Finding(
        "a body number as a string is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"organisation": {"location": {"lat": "45.41", "lon": "11.88"}}},
    ),
    Finding(
        "maxLength counts what is sent, surrounding spaces included",
        "PATCH",
        "/v1/registrations/me",
        body={"motivation": "m" * 5000 + "   "},
    ),
    Finding(
        "a reversed catalogue window is valid input, refused by the availability rule (422)",
        "GET",
        "/v1/catalogue",
        query="available_from=2027-05-01&available_to=2027-04-01",
    ),
    Finding("PATCH without a body: optional in the document, read as {}", "PATCH", "/v1/registrations/me"),
    Finding("PATCH with an empty object", "PATCH", "/v1/registrations/me", body={}),
    Finding(
        "organisation: null is refused by both", "PATCH", "/v1/registrations/me", body={"organisation": None}
    ),
    Finding(
        "a whitespace-only name is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"organisation": {"name": "   "}},
    ),
    Finding("a whitespace-only q is refused by both", "GET", "/v1/catalogue", query="q=%20%20"),
    Finding(
        "a control character is refused by both",
        "PATCH",
        "/v1/registrations/me",
        body={"motivation": "ring the \u0007 bell"},
    ),
    Finding(
        "tab and line feed are text to both",
        "PATCH",
        "/v1/registrations/me",
        body={"motivation": "one\n\ttwo"},
    ),
    Finding(
        "a null query value does not exist: limit=null is refused", "GET", "/v1/catalogue", query="limit=null"
    ),
    Finding("an ISO date in the query", "GET", "/v1/catalogue", query="available_from=2027-03-01"),
]


def _valid(instance: Any, schema: dict[str, Any]) -> bool:
    # The document's own components go with the schema, so its $refs resolve.
    validator = Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return validator.is_valid(instance)


def document_accepts(case: Finding) -> bool:
    operation = DOCUMENT["paths"][case.path][case.method.lower()]
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    for name, values in parse_qs(case.query, keep_blank_values=True).items():
        if name not in parameters or len(values) != 1:
            return False
        schema, value = parameters[name]["schema"], values[0]
        if schema.get("type") in ("integer", "number", "boolean"):
            try:
                value = json.loads(value)
            except ValueError:
                return False
        if not _valid(value, schema):
            return False
    request_body = operation.get("requestBody")
    if case.body is NO_BODY:
        return not (request_body and request_body["required"])
    return request_body is not None and _valid(
        case.body, request_body["content"]["application/json"]["schema"]
    )


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in AGREEMENTS])
def test_document_and_code_agree(world, case):
    # Given a participant with an accepted registration (new: some cases edit it)
    participant = world.participant(roles=("visitor", "host"), partnership="epix")
    path = case.path + (f"?{case.query}" if case.query else "")
    # When
    response = world.request(
        case.method, path, participant.token, None if case.body is NO_BODY else case.body
    )
    # Then the code refuses the input as malformed exactly when the document does
    code_accepts = response.status_code not in (400, 413, 415)
    assert document_accepts(case) == code_accepts, f"{response.status_code} {response.body[:300]!r}"


def test_every_operation_documents_415_and_the_code_answers_it(world):
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            assert "415" in operation["responses"], (method, path)
    response = world.client.http.request(
        "PATCH",
        "/v1/registrations/me",
        headers={"Authorization": f"Bearer {world.host.token}", "Content-Type": "text/plain"},
        body=b"motivation",
    )
    assert response.status_code == 415
    assert _error_code_of(response.body) == "UNSUPPORTED_MEDIA_TYPE"


def _error_code_of(raw: bytes) -> str:
    return str(json.loads(raw)["error"]["code"])


# Found by earlier runs: a 500 for hosting without a capacity (stored without its default, then
# unreadable), a 500 for a cursor with a non-ASCII tag, and the CV route's refusals missing from its
# document. Each input now gets the answer below, and the document lists it.
ANSWERS = [
    Answer(
        "PATCH hosting without capacity stores the default capacity and reads back",
        "PATCH",
        "/v1/registrations/me",
        200,
        "",
        body={"hosting": {"offer": "Our lab, for a week."}},
        reads_back=True,
    ),
    *(
        Answer(
            f"a cursor with a non-ASCII tag on {path} is INVALID_CURSOR",
            "GET",
            f"{path}?cursor=a.%C3%A9",
            400,
            "INVALID_CURSOR",
            role=role,
        )
        for path, role in (
            ("/v1/catalogue", "participant"),
            ("/v1/matches", "participant"),
            ("/v1/contact-requests", "participant"),
            ("/v1/partnerships/epix/registrations", "partnership"),
        )
    ),
    Answer(
        "a CV of another type is 422 UNSUPPORTED_FILE_TYPE",
        "POST",
        "/v1/registrations/me/cv",
        422,
        "UNSUPPORTED_FILE_TYPE",
        body={"filename": "cv.docx", "content_type": "application/msword", "size": 1024},
    ),
    Answer(
        "a CV over 5 MB is 413 FILE_TOO_LARGE",
        "POST",
        "/v1/registrations/me/cv",
        413,
        "FILE_TOO_LARGE",
        body={"filename": "cv.pdf", "content_type": "application/pdf", "size": 6 * 1024 * 1024},
    ),
]


@pytest.mark.parametrize("answer", [pytest.param(a, id=a.name) for a in ANSWERS])
def test_former_server_errors_and_undocumented_codes_stay_fixed(world, answer):
    # Given a participant with an accepted registration, or an officer of its partnership
    participant = world.participant(roles=("visitor", "host"), partnership="epix")
    token = participant.token if answer.role == "participant" else world.officers["epix"].token
    # When
    response = world.request(
        answer.method, answer.sent, token, None if answer.body is NO_BODY else answer.body
    )
    # Then the answer is the one expected, documented with its code, and what was stored reads back
    assert response.status_code == answer.status, response.body
    if answer.status >= 400:
        assert _error_code_of(response.body) == answer.code
        path = answer.sent.split("?")[0].replace("/epix/", "/{partnership_id}/")
        documented = DOCUMENT["paths"][path][answer.method.lower()]["responses"]
        assert answer.code in documented[str(answer.status)]["description"]
    if answer.reads_back:
        again = world.request("GET", "/v1/registrations/me", participant.token)
        assert again.status_code == 200, again.body
        assert json.loads(again.body)["hosting"]["capacity"] == 1
