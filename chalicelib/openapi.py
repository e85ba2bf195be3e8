"""Builds the OpenAPI 3 document from the app's routes and the models they declare.

Request schemas say what the HTTP adapter (handlers.http) accepts, not only what the models declare:
an empty body is read as `{}`, strings are stripped before their length is checked, control characters
and those that reorder text are refused in every string of a body or query, and Chalice answers 415
to any other content type.
Each error status lists the codes the route answers it with (RouteDoc.error_codes), as an enum.
A success is JSON (the route's response model) unless the route names other media types (RouteDoc.
media: a CSV export; the documentation page and its files, text/html, text/css and text/javascript).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from chalicelib.handlers.http import JSON, REFUSED_PATTERN, ROUTE_DOCS, RouteDoc

TITLE = "ClusterXchange API"
VERSION = "1.0.0"
DESCRIPTION = """The API of the ClusterXchange IT tool: an EU scheme that pays short stays (3 working days to
one month) of a cluster organisation, SME or support organisation at a host in another European country.

Organisations register as visitor and/or host, their partnership accepts them, they find each other in
the catalogue and through best matches, send contact requests, build and sign a Commitment to Quality and
a financial agreement, stay, file a closing report with evidence, and are paid a lump sum.

Conventions: JSON in and out (UTF-8), dates `YYYY-MM-DD`, times ISO 8601 UTC, money in whole euros,
countries ISO 3166-1 alpha-2. Signed-in routes take `Authorization: Bearer <ID token>`; the token's
groups are the caller's roles (`participant`, `partnership`, `support`, `finance`, `admin`). Lists take
`limit` and `cursor` and answer `{"items": [...], "next_cursor": ...}`. Mutable resources carry a
`version`: a change that names a stale one is answered 409 with the current resource. Every error is
`{"error": {"code", "message", "details"}}`; each response lists the codes the route answers it with.
A creation may carry an `Idempotency-Key` header, so that retrying it after a lost answer makes nothing
twice."""
# Who may use this document and the API it describes: the programme's own terms (no public licence).
LICENSE = {"name": "Proprietary: ClusterXchange programme", "identifier": "LicenseRef-ClusterXchange"}
# Every tag a route uses, described; a test fails on a tag missing here.
TAGS = {
    "reference": "Public reference data: countries, ecosystems, organisation types, partnerships, health",
    "meta": "This document, and the signed-in caller",
    "registrations": "A participant's registration, CV, export and withdrawal; a partnership's decisions",
    "matching": "Best matches and the catalogue of accepted registrations",
    "contact-requests": "Contact requests between accepted participants",
    "exchanges": "Exchanges from draft to payment: agreements, signatures, uploads, closing report",
    "payments": "Lump-sum payments, SEPA transfer files and their confirmation (finance)",
    "operations": "Operators: effects that kept failing, and retrying them",
    "partnerships": "The programme's partnerships, managed by admins: countries, contact points, debtor",
    "support": "The support office: questions (with a screenshot), answers mailed to the asker, closing",
    "exports": "The programme's data as CSV files: exchanges (admins; a partnership its own)",
    "alumni": "The opt-in directory of participants of completed exchanges, and the caller's entry",
    "statistics": "Figures of the programme and of each partnership: registrations, exchanges, lump sums",
    "docs": "This document as an interactive page (Swagger UI), and the files the page loads",
}

_STATUS_TEXT = {
    400: "Malformed JSON or wrong types",
    401: "No or invalid token",
    403: "Role or ownership",
    404: "Unknown id, or one the caller may not see",
    409: "State or version conflict",
    413: "Too large",
    415: "The body is not JSON (Content-Type other than application/json)",
    422: "A programme rule is not met",
    429: "Throttled",
    503: "The service is overloaded: retry after Retry-After seconds",
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}


def _non_blank(min_length: int) -> str:
    """A pattern for "at least `min_length` characters once surrounding whitespace is stripped"."""
    if min_length <= 1:
        return r"\S"
    return rf"\S[\s\S]{{{min_length - 2},}}\S"


def _years(first: int, last: int) -> str:
    """A pattern for the four-digit years of the centuries from `first`'s to `last`'s: exactly the
    years from `first` to `last` when they open and close a century, a few more otherwise."""
    return "(?:" + "|".join(f"{c:02d}" for c in range(first // 100, last // 100 + 1)) + r")\d\d"


class _RequestSchema(GenerateJsonSchema):
    """JSON schemas of request models as the adapter reads them."""

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        # JSON Schema has no bounds for a date: the years go in a pattern that every validator
        # checks, the exact days in the description, for people and generated clients' docs.
        json_schema = super().date_schema(schema)
        low = schema.get("ge") or (schema["gt"] + timedelta(days=1) if "gt" in schema else None)
        high = schema.get("le") or (schema["lt"] - timedelta(days=1) if "lt" in schema else None)
        if low is not None or high is not None:
            first, last = (low.year if low else 1), (high.year if high else 9999)
            json_schema["pattern"] = f"^{_years(first, last)}-"
            bounds = " ".join(
                part
                for part in (
                    f"from {low.isoformat()}" if low else "",
                    f"to {high.isoformat()}" if high else "",
                )
                if part
            )
            json_schema["description"] = f"A day (YYYY-MM-DD) {bounds}, inclusive."
        return json_schema

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        strips = schema.get("strip_whitespace", self._config.str_strip_whitespace)
        if strips and json_schema.get("minLength", 0) >= 1 and "pattern" not in json_schema:
            json_schema["pattern"] = _non_blank(json_schema["minLength"])
        # What the adapter refuses in any string of a body or query, from its own list.
        json_schema["not"] = {"pattern": REFUSED_PATTERN}
        return json_schema


# What the adapter and Chalice may answer on any route, whatever it declares: every query string is
# validated (a route without a query model takes none), any other content type is a 415.
_EVERY_ROUTE: dict[int, set[str]] = {
    400: {"VALIDATION_ERROR", "CONTROL_CHARACTERS"},
    415: {"UNSUPPORTED_MEDIA_TYPE"},
    429: {"THROTTLED"},
}


def _error_response(status: int, codes: set[str]) -> dict[str, Any]:
    """An error status with the codes the route answers it with, in the description and listed in
    `x-error-codes`. The body is the one Error schema on every status: a per-status refinement of it
    would make each generated client declare a type per route and status for one shape."""
    description = _STATUS_TEXT.get(status, "Error")
    listed = sorted(codes)
    if listed:
        description += ": " + ", ".join(listed)
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if listed:
        answer["x-error-codes"] = listed
    if status == 503:
        wait = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
        answer["headers"] = {"Retry-After": wait}
    return answer


def _schema_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class ComponentCollision(ValueError):
    """Two different schemas under one component name: a client would get only one of them."""


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def add(self, name: str, schema: dict[str, Any]) -> str:
        """Adds `schema` as component `name`. The name must say one shape: a second, different schema
        under it (two models of one name, or one model that reads differently as a request and as a
        response) is refused rather than silently dropped, as keeping the first would be."""
        name = _schema_name(name)
        known = self.components.setdefault(name, schema)
        if known != schema:
            raise ComponentCollision(
                f"two different schemas are named {name!r}: give one of the models another name"
            )
        return name

    def _add_defs(self, schema: dict[str, Any]) -> None:
        for name, sub in schema.pop("$defs", {}).items():
            self.add(name, sub)

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        self._add_defs(schema)
        return {"$ref": f"#/components/schemas/{self.add(model.__name__, schema)}"}

    def input_schema(self, model: type[BaseModel]) -> dict[str, Any]:
        """The model's schema as a request; the models it refers to go to the components."""
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation", schema_generator=_RequestSchema
        )
        self._add_defs(schema)
        return schema

    def input_ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = self.input_schema(model)
        return {"$ref": f"#/components/schemas/{self.add(model.__name__, schema)}"}


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is sent or left out; it cannot be null, so `X | None = None` is just X."""
    branches = prop.get("anyOf")
    if branches and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        prop = {k: v for k, v in prop.items() if k != "anyOf"} | (
            rest[0] if len(rest) == 1 else {"anyOf": rest}
        )
        if prop.get("default", ...) is None:
            del prop["default"]
    return prop


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = schemas.input_schema(model)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _operation(doc: RouteDoc | None, path: str, method: str, schemas: _Schemas) -> dict[str, Any]:
    path_params = re.findall(r"{(\w+)}", path)
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path_params
    ]
    op: dict[str, Any] = {"operationId": _operation_id(doc, path, method)}
    responses: dict[str, Any] = {}
    public = doc.public if doc else False
    if doc:
        op["summary"] = doc.summary
        op["tags"] = [doc.tag]
        if doc.roles:
            op["description"] = "Roles: " + ", ".join(doc.roles)
        if doc.query:
            parameters.extend(_query_parameters(doc.query, schemas))
        if doc.body:
            # The adapter reads an empty body as {}: the body may be left out exactly when the model
            # has no required field.
            op["requestBody"] = {
                "required": any(field.is_required() for field in doc.body.model_fields.values()),
                "content": {"application/json": {"schema": schemas.input_ref(doc.body)}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        content = _success_content(doc, schemas)
        if content:
            ok["content"] = content
        if doc.headers:
            ok["headers"] = {
                name: {"description": description, "schema": {"type": "string"}}
                for name, description in doc.headers
            }
        responses[str(doc.status)] = ok
        error_codes = {status: set(codes) for status, codes in doc.error_codes.items()}
    else:
        responses["200"] = {"description": "Success"}
        error_codes = {}
    for status, codes in _EVERY_ROUTE.items():
        error_codes.setdefault(status, set()).update(codes)
    if not public:
        error_codes.setdefault(401, set()).add("UNAUTHORIZED")
        error_codes.setdefault(403, set()).add("FORBIDDEN")
        op["security"] = [{"bearerAuth": []}]
    else:
        op["security"] = []
    for status, codes in sorted(error_codes.items()):
        responses[str(status)] = _error_response(status, codes)
    if parameters:
        op["parameters"] = parameters
    op["responses"] = responses
    return op


def _success_content(doc: RouteDoc, schemas: _Schemas) -> dict[str, Any]:
    """The one place a success response's media types are decided: JSON is the route's response model,
    any other media type the route answers (a CSV export) is text, UTF-8."""
    content: dict[str, Any] = {}
    for media in doc.media:
        if media == JSON:
            if doc.response:
                content[media] = {"schema": schemas.ref(doc.response)}
        else:
            content[media] = {"schema": {"type": "string"}}
    return content


def _operation_id(doc: RouteDoc | None, path: str, method: str) -> str:
    # The handler's name: what a generated client calls the method, and stable when a path is renamed.
    if doc is not None and doc.handler is not None:
        return doc.handler.__name__
    return f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"


def _add_examples(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """An example for every request body and every JSON success response, made from its schema."""
    from chalicelib.openapi_examples import Examples

    examples = Examples(components)
    for operations in paths.values():
        for op in operations.values():
            bodies = [op.get("requestBody", {}).get("content", {})]
            bodies += [
                answer.get("content", {}) for status, answer in op["responses"].items() if int(status) < 400
            ]
            for content in bodies:
                media = content.get(JSON)
                if media is not None and "schema" in media:
                    media["example"] = examples.of(media["schema"])


def build_document(
    routes: dict[str, dict[str, Any]], title: str = TITLE, version: str = VERSION
) -> dict[str, Any]:
    """`routes` is Chalice's app.routes: path -> method -> route entry."""
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    handlers: dict[str, tuple[str, str]] = {}
    for path in sorted(routes):
        for method in sorted(routes[path]):
            if method == "OPTIONS":
                continue
            doc = ROUTE_DOCS.get((path, method))
            op = _operation(doc, path, method, schemas)
            # A client names its methods by operation id: two routes of one id would lose one.
            other = handlers.setdefault(op["operationId"], (method, path))
            if other != (method, path):
                raise ValueError(f"{method} {path} and {other[0]} {other[1]} share the handler name")
            paths.setdefault(path, {})[method.lower()] = op
    _add_examples(paths, schemas.components)
    used = sorted(
        {tag for operations in paths.values() for op in operations.values() for tag in op.get("tags", [])}
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": DESCRIPTION, "license": LICENSE},
        "servers": [{"url": "/", "description": "The stage that serves this document"}],
        "tags": [{"name": tag, "description": TAGS.get(tag, "")} for tag in used],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An ID token of the stage's Cognito user pool; its groups are the roles.",
                }
            },
        },
    }
