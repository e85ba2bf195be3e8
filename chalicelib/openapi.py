"""Builds the OpenAPI 3 document from the app's routes and the models they declare.

Request schemas say what the HTTP adapter (handlers.http) accepts, not only what the models declare:
an empty body is read as `{}`, strings are stripped before their length is checked, control characters
and those that reorder text are refused in every string of a body or query, and Chalice answers 415
to any other content type.
Each error status lists the codes the route answers it with (RouteDoc.error_codes), as an enum.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from chalicelib.handlers.http import REFUSED_PATTERN, ROUTE_DOCS, RouteDoc

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
        # checks, the exact days in the `formatMinimum`/`formatMaximum` keywords that some read.
        json_schema = super().date_schema(schema)
        low = schema.get("ge") or (schema["gt"] + timedelta(days=1) if "gt" in schema else None)
        high = schema.get("le") or (schema["lt"] - timedelta(days=1) if "lt" in schema else None)
        if low is not None or high is not None:
            first, last = (low.year if low else 1), (high.year if high else 9999)
            json_schema["pattern"] = f"^{_years(first, last)}-"
            if low is not None:
                json_schema["formatMinimum"] = low.isoformat()
            if high is not None:
                json_schema["formatMaximum"] = high.isoformat()
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
    """An error status with the codes the route answers it with, listed and as an enum of `code`."""
    schema: dict[str, Any] = {"$ref": "#/components/schemas/Error"}
    description = _STATUS_TEXT.get(status, "Error")
    if codes:
        listed = sorted(codes)
        description += ": " + ", ".join(listed)
        schema = {"allOf": [schema, {"properties": {"error": {"properties": {"code": {"enum": listed}}}}}]}
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if status == 503:
        wait = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
        answer["headers"] = {"Retry-After": wait}
    return answer


def _schema_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(_schema_name(name), sub)
        name = _schema_name(model.__name__)
        self.components.setdefault(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def input_schema(self, model: type[BaseModel]) -> dict[str, Any]:
        """The model's schema as a request; the models it refers to go to the components."""
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation", schema_generator=_RequestSchema
        )
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(_schema_name(name), sub)
        return schema

    def input_ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = self.input_schema(model)
        name = _schema_name(model.__name__)
        self.components.setdefault(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}


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
    op: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"
    }
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
        if doc.response:
            ok["content"] = {"application/json": {"schema": schemas.ref(doc.response)}}
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


def build_document(routes: dict[str, dict[str, Any]], title: str, version: str) -> dict[str, Any]:
    """`routes` is Chalice's app.routes: path -> method -> route entry."""
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for path in sorted(routes):
        for method in sorted(routes[path]):
            if method == "OPTIONS":
                continue
            doc = ROUTE_DOCS.get((path, method))
            paths.setdefault(path, {})[method.lower()] = _operation(doc, path, method, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
