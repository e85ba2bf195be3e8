"""The HTTP adapter every route goes through: auth context, body/query parsing, errors, route docs.

Routes declare their body, query and response models here; the same declarations build the served
OpenAPI document, so the document cannot drift from the code.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.auth import Principal
from chalicelib.errors import JSON_HEADERS, ApiError, BadRequest, Forbidden, PayloadTooLarge
from chalicelib.handlers.authorizer import cognito_token
from chalicelib.observability import logger

MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class RouteDoc:
    path: str
    method: str
    summary: str
    tag: str
    public: bool
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]


ROUTE_DOCS: dict[tuple[str, str], RouteDoc] = {}


class StrictModel(BaseModel):
    """Base of request models: unknown fields are an error rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListQuery(StrictModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)


@dataclass
class Call:
    """What a handler gets: the caller and the parsed body and query (path parameters come as arguments)."""

    principal: Principal | None
    body: Any = None
    query: Any = None

    @property
    def user(self) -> Principal:
        if self.principal is None:  # only public routes have no principal, and they never ask
            raise Forbidden("This route needs a signed-in user.")
        return self.principal


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        details.append({"field": loc or None, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return details


def parse_model(model: type[BaseModel], data: Any, what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(f"The {what} is not valid.", details=validation_details(exc)) from exc


def _parse_body(raw: bytes | None, model: type[BaseModel]) -> BaseModel:
    if raw and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw:
        # An empty body is an empty object: routes whose fields are all optional accept it, others
        # answer with the missing fields named.
        return parse_model(model, {}, "body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The body is not valid JSON.", code="MALFORMED_JSON") from exc
    return parse_model(model, data, "body")


def _parse_query(params: Any, model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    if params:
        for key in params:
            values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
            data[key] = values if len(values) > 1 else values[0]
    return parse_model(model, data, "query")


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("The cursor is not valid.", code="INVALID_CURSOR") from exc


def _to_json(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


class Api:
    """A Chalice blueprint whose routes declare their models and roles."""

    def __init__(self, import_name: str, tag: str) -> None:
        self.blueprint = Blueprint(import_name)
        self.tag = tag

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        summary: str,
        public: bool = False,
        roles: tuple[str, ...] = (),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            ROUTE_DOCS[(path, method)] = RouteDoc(
                path, method, summary, self.tag, public, roles, body, query, response, status, errors
            )

            @functools.wraps(handler)
            def view(**params: str) -> Response:
                request = self.blueprint.current_request
                principal = None
                if not public:
                    context = (request.context or {}).get("authorizer") or {}
                    principal = Principal.from_context(context)
                    if roles and not principal.has_role(*roles):
                        raise Forbidden("Your role may not use this route.")
                call = Call(
                    principal=principal,
                    body=_parse_body(request.raw_body, body) if body else None,
                    query=_parse_query(request.query_params, query or StrictModel),
                )
                try:
                    result = handler(call, **params)
                except ApiError:
                    raise
                except Exception as exc:
                    # Logged here, with the correlation id, and answered with a generic body: the
                    # client learns nothing internal and no input is ever a bare 500 page.
                    logger.exception("unhandled error", extra={"route": path, "method": method})
                    raise ApiError("An internal error occurred.") from exc
                if isinstance(result, Response):
                    return result
                return Response(body=_to_json(result), status_code=status, headers=dict(JSON_HEADERS))

            self.blueprint.route(
                path, methods=[method], authorizer=None if public else cognito_token, cors=True
            )(view)
            return handler

        return decorate
