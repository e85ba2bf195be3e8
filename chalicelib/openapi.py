"""Builds the OpenAPI 3 document from the app's routes and the models they declare."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from chalicelib.handlers.http import ROUTE_DOCS, RouteDoc

_STATUS_TEXT = {
    400: "Malformed JSON or wrong types",
    401: "No or invalid token",
    403: "Role or ownership",
    404: "Unknown id, or one the caller may not see",
    409: "State or version conflict",
    413: "Too large",
    422: "A programme rule is not met",
    429: "Throttled",
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

    def input_ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(_schema_name(name), sub)
        name = _schema_name(model.__name__)
        self.components.setdefault(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, sub in schema.pop("$defs", {}).items():  # an enum of a parameter is a shared component
        schemas.components.setdefault(_schema_name(name), sub)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
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
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas.input_ref(doc.body)}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if doc.response:
            ok["content"] = {"application/json": {"schema": schemas.ref(doc.response)}}
        responses[str(doc.status)] = ok
        error_codes = set(doc.errors) | {400, 429}
    else:
        responses["200"] = {"description": "Success"}
        error_codes = {400}
    if not public:
        error_codes |= {401, 403}
        op["security"] = [{"bearerAuth": []}]
    else:
        op["security"] = []
    for code in sorted(error_codes):
        responses[str(code)] = {
            "description": _STATUS_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
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
