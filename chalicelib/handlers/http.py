"""The HTTP adapter every route goes through: auth context, body/query parsing, domain errors to status
codes, route docs.

A route names its models once, in the handler's signature: a parameter `body: SomeModel` is the JSON
body, `query: SomeModel` the query string, and the return annotation the response. The same
declarations build the served OpenAPI document, and the statuses a route documents come from what the
handler and the services it calls can raise (handlers.raises), so neither can drift from the code.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.auth import Principal
from chalicelib.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleBroken,
    Throttled,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from chalicelib.handlers.authorizer import cognito_token
from chalicelib.observability import logger

MAX_BODY_BYTES = 256 * 1024
JSON = "application/json"
CSV = "text/csv"
JSON_HEADERS = {"Content-Type": JSON}
# Responses of signed-in routes hold personal data or data only the caller may see: no cache (a
# browser's, a proxy's or a shared device's) may keep them.
PRIVATE_HEADERS = {**JSON_HEADERS, "Cache-Control": "no-store"}

# The one place that knows which status a domain error is.
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    RuleBroken: 422,
    Throttled: 429,
    Unavailable: 503,
}


# What a browser may send and read across origins. Requests carry a bearer token, never cookies, so no
# credentials are allowed; X-Request-Id is exposed so a web client can quote it in a report, and
# Content-Disposition so it can save a download (a CSV export) under the name the API gives it.
_CORS_ALLOW_HEADERS = "Authorization,Content-Type"
_CORS_EXPOSE_HEADERS = "X-Request-Id,Content-Disposition"
_PREFLIGHT_MAX_AGE = "600"
_preflight_paths: set[str] = set()


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """The CORS headers every response carries for a request from an allowed origin (none otherwise).
    The answer depends on the request's Origin, so caches are told so."""
    if not origin or origin not in allowed:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": _CORS_EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def _methods_of(path: str) -> str:
    return ",".join(sorted({method for (p, method) in ROUTE_DOCS if p == path} | {"OPTIONS"}))


def status_of(error: type[DomainError]) -> int:
    for cls in error.__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
) -> Response:
    return Response(
        body=error_body(code, message, details), status_code=status, headers=dict(headers or JSON_HEADERS)
    )


def domain_error_response(exc: DomainError, headers: dict[str, str]) -> Response:
    """The contract's answer to a domain error: its status and body, and when to come back if it says."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers = {**headers, "Retry-After": str(retry_after)}
    return error_response(status_of(type(exc)), exc.code, exc.message, exc.details, headers)


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
    handler: Callable[..., Any] | None = field(default=None, compare=False)
    # The media types the success response comes in: JSON is the response model, any other is text
    # (a CSV export); and the response headers it documents, name -> description.
    media: tuple[str, ...] = (JSON,)
    headers: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def error_codes(self) -> dict[int, list[str]]:
        """Status -> the error codes this route can answer with it (what the adapter and the code it
        calls can raise). Worked out on first use (the OpenAPI document), never at import."""
        from chalicelib.handlers.raises import raised_by

        # Any route may be throttled by API Gateway or find AWS overloaded behind it.
        found: dict[int, set[str]] = {429: {"THROTTLED"}, 503: {Unavailable.default_code}}
        if self.body is not None or self.query is not None:
            found.setdefault(400, set()).update({"VALIDATION_ERROR", "CONTROL_CHARACTERS"})
        if self.body is not None:
            found[400].add("MALFORMED_JSON")
            found.setdefault(413, set()).add("PAYLOAD_TOO_LARGE")
        if not self.public:
            found.setdefault(401, set()).add("UNAUTHORIZED")
            found.setdefault(403, set()).add("FORBIDDEN")
        if self.handler is not None:
            for error, codes in raised_by(self.handler).items():
                found.setdefault(status_of(error), set()).update(codes)
        return {status: sorted(codes) for status, codes in sorted(found.items())}

    @property
    def errors(self) -> tuple[int, ...]:
        return tuple(self.error_codes)


ROUTE_DOCS: dict[tuple[str, str], RouteDoc] = {}


def _at_most(max_length: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # The length as sent, before stripping: the document's maxLength is about what is sent.
        if isinstance(value, str) and len(value) > max_length:
            raise ValueError(f"at most {max_length} characters")
        return value

    return check


def text(max_length: int, *, min_length: int = 1) -> Any:
    """A request's string: at most `max_length` characters as sent, stored without surrounding
    whitespace; a required one must hold a non-blank character, which the schema says too (pattern),
    so the document and the code agree on "   "."""
    # The validator wraps the constrained string, so it sees the value as sent (metadata applies in order).
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            min_length=min_length,
            max_length=max_length,
            pattern=r"\S" if min_length else None,
        ),
        BeforeValidator(_at_most(max_length)),
    ]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """The default of a PATCH field that may be left out but never sent as null: the field's type has
    no null, so the served schema says "not required, not nullable", which is what the code does."""
    return Field(None, json_schema_extra=_no_default, **constraints)


def _whole(value: Any) -> Any:
    # JSON Schema's integer is any number with no fraction (3.0 included), never a string or a boolean.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole(*, ge: int | None = None, le: int | None = None) -> Any:
    """A request's integer as JSON Schema defines one (strict body validation alone would refuse 3.0);
    the bounds sit inside the validator, so the schema states them."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_whole)]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    # Only YYYY-MM-DD: pydantic alone would also read a number as a Unix time and a datetime with a
    # zero time as a date, which the document (format: date) does not allow.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return date.fromisoformat(value)
    raise ValueError("a date as YYYY-MM-DD")


# A day a person or an exchange can have: bounds keep "0001-01-01" and "9999-12-31" out in one place.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2199, 12, 31)), BeforeValidator(_iso_day)]


class ApiModel(BaseModel):
    """Base of every route's models. Building a model's validator is most of what defining it costs
    (~70 ms for all routes' models): deferred, a Lambda builds those of the routes it serves, on their
    first call, instead of every model at import."""

    model_config = ConfigDict(defer_build=True)


class StrictModel(ApiModel):
    """Base of request models: unknown fields are an error rather than silently dropped. A body is
    validated strictly (a JSON number is not a boolean, a string not a number), a query string laxly
    (every value arrives as text)."""

    model_config = ConfigDict(extra="forbid")


# `type: ignore[valid-type]` on fields: their constrained types are built by text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
class Versioned(StrictModel):
    """A state change or edit that may name the version it read (the contract's optimistic writes)."""

    version: whole(ge=1) | None = Field(  # type: ignore[valid-type]
        None, description="The version read; a stale one gets 409 with the current resource"
    )


class ListQuery(StrictModel):
    limit: int = Field(20, ge=1, le=100)
    # Bounded by the cursor codec, which answers INVALID_CURSOR for anything it did not issue.
    cursor: str | None = Field(None, description="Opaque: the next_cursor of the previous page")


_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,100}")


@dataclass
class Call:
    """What a handler gets besides its body, query and path parameters: the caller, and the key a
    client may send with a creation (`Idempotency-Key`) so that retrying it after a lost answer makes
    nothing twice."""

    principal: Principal | None
    idempotency_key: str | None = None

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


# Refused in every string of every body and query, as inclusive code point ranges: every control
# character (C0, DEL, C1) but tab, line feed and carriage return, and the characters that reorder the
# text after them where it is shown (bidirectional embeddings and overrides U+202A-U+202E, isolates
# U+2066-U+2069): an organisation name that renders reversed, a filename "cv<U+202E>fdp.exe" shown as
# "cvexe.pdf". The direction marks U+200E, U+200F and U+061C stay allowed: they only set the direction
# of the neutral characters next to them (a bracket, a number), cannot turn a word around, and
# right-to-left writing needs them. The served document states the same ranges (REFUSED_PATTERN).
REFUSED_RANGES = (
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
)
_REFUSED = frozenset(chr(c) for low, high in REFUSED_RANGES for c in range(low, high + 1))
# A regular expression character class both JSON Schema (ECMA 262) and Python's `re` read alike.
REFUSED_PATTERN = "[" + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in REFUSED_RANGES) + "]"


def _bad_character(text: str) -> bool:
    # Lone surrogates too, which no UTF-8 store can hold.
    return any(c in _REFUSED or "\ud800" <= c <= "\udfff" for c in text)


def _refuse_control_characters(data: Any, where: str) -> None:
    stack: list[tuple[Any, str]] = [(data, where)]
    while stack:  # iterative: depth is bounded by the parser, not by this walk
        value, path = stack.pop()
        if isinstance(value, str):
            if _bad_character(value):
                raise InvalidInput(
                    "Text may not contain control characters or characters that reorder text.",
                    code="CONTROL_CHARACTERS",
                    details=[
                        {"field": path, "message": "control and text-direction characters are not allowed"}
                    ],
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, path))
                stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(value))


def parse_model(model: type[BaseModel], data: Any, what: str) -> BaseModel:
    _refuse_control_characters(data, "")
    try:
        return model.model_validate(data, strict=what == "body")
    except ValidationError as exc:
        raise InvalidInput(f"The {what} is not valid.", details=validation_details(exc)) from exc


def _parse_body(raw: str | bytes | None, model: type[BaseModel]) -> BaseModel:
    if raw and len(raw) > MAX_BODY_BYTES:
        raise TooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw:
        # An empty body is an empty object: routes whose fields are all optional accept it, others
        # answer with the missing fields named.
        return parse_model(model, {}, "body")
    try:
        data = json.loads(raw)
    # RecursionError: deeply nested arrays or objects exhaust the parser's stack; that is bad input.
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput("The body is not valid JSON.", code="MALFORMED_JSON") from exc
    return parse_model(model, data, "body")


def _parse_query(params: Any, model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    if params:
        for key in params:
            values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
            data[key] = values if len(values) > 1 else values[0]
    return parse_model(model, data, "query")


def _to_json(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _model_of(hints: dict[str, Any], name: str) -> type[BaseModel] | None:
    hint = hints.get(name)
    return hint if isinstance(hint, type) and issubclass(hint, BaseModel) else None


def _response_model_of(hints: dict[str, Any]) -> type[BaseModel] | None:
    """The JSON response model: the return annotation, or its one model when a route answers either it
    or a Response of another media type (`-> Link | Response`)."""
    hint = hints.get("return")
    if isinstance(hint, types.UnionType):
        models = [h for h in typing.get_args(hint) if isinstance(h, type) and issubclass(h, BaseModel)]
        return models[0] if len(models) == 1 else None
    return _model_of(hints, "return")


def download(content: str, media: str, filename: str) -> Response:
    """A text body of `media` (UTF-8) that a browser saves as `filename` (plain ASCII, as built here)."""
    return Response(
        body=content,
        status_code=200,
        headers={
            "Content-Type": f"{media}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def reshape_chalice_error(response: Response) -> Response:
    """Chalice answers some errors itself ({"Code", "Message"}); give them the contract's shape."""
    content_type = {k.lower(): v for k, v in (response.headers or {}).items()}.get("content-type", JSON)
    if not str(content_type).startswith(JSON):
        return response  # a route's own text (a CSV export) is never an error of Chalice's
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            return response
    if not isinstance(body, dict) or "error" in body or "Code" not in body:
        return response
    code = {
        "BadRequestError": "BAD_REQUEST",
        "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
        "MethodNotAllowedError": "METHOD_NOT_ALLOWED",
        "NotFoundError": "NOT_FOUND",
        "TooManyRequestsError": "THROTTLED",
        "RequestTooLargeError": "PAYLOAD_TOO_LARGE",
    }.get(str(body.get("Code")), "INTERNAL_ERROR")
    message = str(body.get("Message") or "Request failed")
    if response.status_code >= 500:
        message = "An internal error occurred."
    return error_response(
        response.status_code, code, message, headers={**(response.headers or {}), **JSON_HEADERS}
    )


class Api:
    """A Chalice blueprint whose routes declare their roles; models come from the handler's signature."""

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
        status: int = 200,
        media: tuple[str, ...] = (JSON,),
        headers: Mapping[str, str] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`media`: the media types of the success response (a route answering text as well returns a
        Response, e.g. `download(...)`, and declares `-> Model | Response`); `headers`: the response
        headers it documents, name -> description."""
        documented_headers = tuple((headers or {}).items())

        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            hints = typing.get_type_hints(handler)
            body, query = _model_of(hints, "body"), _model_of(hints, "query")
            response = _response_model_of(hints)
            takes = set(inspect.signature(handler).parameters)
            ROUTE_DOCS[(path, method)] = RouteDoc(
                path,
                method,
                summary,
                self.tag,
                public,
                roles,
                body,
                query,
                response,
                status,
                handler,
                media=media,
                headers=documented_headers,
            )
            answer_headers = JSON_HEADERS if public else PRIVATE_HEADERS

            @functools.wraps(handler)
            def view(**params: str) -> Response:
                try:
                    result = self._call(handler, public, roles, body, query, takes, params)
                except DomainError as exc:
                    return domain_error_response(exc, answer_headers)
                if isinstance(result, Response):
                    result.headers = {**answer_headers, **(result.headers or {})}
                    return result
                return Response(body=_to_json(result), status_code=status, headers=dict(answer_headers))

            # CORS is answered by the app (the allowed origins are a setting, and API Gateway's own
            # preflight could name one fixed origin only), so Chalice's is off.
            self.blueprint.route(
                path, methods=[method], authorizer=None if public else cognito_token, cors=False
            )(view)
            self._preflight(path)
            return handler

        return decorate

    def _preflight(self, path: str) -> None:
        """A browser's preflight for `path`: public (it carries no token) and answered here, so the
        allowed methods are the routes' own; the origin headers are added with every response's."""
        if path in _preflight_paths:
            return
        _preflight_paths.add(path)

        def preflight(**_: str) -> Response:
            return Response(
                body="",
                status_code=204,
                headers={
                    "Access-Control-Allow-Methods": _methods_of(path),
                    "Access-Control-Allow-Headers": _CORS_ALLOW_HEADERS,
                    "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
                },
            )

        preflight.__name__ = f"preflight_{len(_preflight_paths)}"
        self.blueprint.route(path, methods=["OPTIONS"], authorizer=None, cors=False)(preflight)

    def _call(
        self,
        handler: Callable[..., Any],
        public: bool,
        roles: tuple[str, ...],
        body: type[BaseModel] | None,
        query: type[BaseModel] | None,
        takes: set[str],
        params: dict[str, str],
    ) -> Any:
        request = self.blueprint.current_request
        principal = None
        if not public:
            context = (request.context or {}).get("authorizer") or {}
            principal = Principal.from_context(context)
            if roles and not principal.has_role(*roles):
                raise Forbidden("Your role may not use this route.")
        arguments: dict[str, Any] = dict(params)
        if body is not None:
            arguments["body"] = _parse_body(request.raw_body, body)
        # Every route validates its query string: one without a query model accepts none at all.
        parsed_query = _parse_query(request.query_params, query or StrictModel)
        if "query" in takes:
            arguments["query"] = parsed_query
        key = request.headers.get("idempotency-key") if request.headers else None
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise InvalidInput(
                "The Idempotency-Key header is 8 to 100 letters, digits or _.:- (a UUID will do).",
                details=[{"field": "Idempotency-Key", "message": "8 to 100 of A-Z a-z 0-9 _ . : -"}],
            )
        try:
            return handler(Call(principal, key), **arguments)
        except DomainError:
            raise
        except Exception as exc:
            overload = Unavailable.caused(exc)
            if overload is not None:
                # Not a fault of ours or the caller's: a warning, and an answer that says when to retry.
                logger.warning("AWS asked to slow down", extra={"route": handler.__name__})
                raise overload from exc
            # Logged here, with the correlation id, and answered with a generic body: the client
            # learns nothing internal and no input is ever a bare 500 page.
            logger.exception("unhandled error", extra={"route": handler.__name__})
            return error_response(500, "INTERNAL_ERROR", "An internal error occurred.")
