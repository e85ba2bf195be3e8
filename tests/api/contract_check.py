"""Every response an API test gets is checked against the served document: a body with a documented
status must come in one of the media types that status lists, and match its schema there (a JSON body
with additional properties refused everywhere; a text body, such as a CSV export, as the string its
declared charset decodes). A field the
code answers but the document leaves out (what a generated client would then drop) fails the test
that met it, so the whole API suite checks every route it drives; so does an error whose code is not
one its response lists in `x-error-codes` (what a client switching on the code would not expect), and
a body of a media type its status does not list (a page, a script or a stylesheet is documented as
such; everything else is JSON).

Statuses the document does not list (a test's deliberate 500, an unknown route's 404) are left to the
tests that cause them.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


def strict(node: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that names its properties."""
    if isinstance(node, dict):
        node = {key: strict(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


@cache
def _document() -> dict[str, Any]:
    from app import app
    from chalicelib.handlers.meta import served_document

    return copy.deepcopy(served_document(app.routes))


@cache
def _operations() -> list[tuple[re.Pattern[str], str, str]]:
    """(path regex, method, document path), literal paths before templated ones (`/me` before `/{id}`)."""
    found = []
    for path, operations in _document()["paths"].items():
        segments = ("[^/]+" if part.startswith("{") else re.escape(part) for part in path.split("/"))
        pattern = re.compile("^" + "/".join(segments) + "$")
        for method in operations:
            found.append((path.count("{"), pattern, method.upper(), path))
    return [(pattern, method, path) for _, pattern, method, path in sorted(found, key=lambda f: f[0])]


@cache
def _media_types(path: str, method: str, status: str) -> frozenset[str] | None:
    """The media types the document gives this status a body in; None when it documents no body."""
    answer = _document()["paths"][path][method.lower()]["responses"].get(status)
    content = (answer or {}).get("content")
    return frozenset(content) if content else None


def media_type_of(content_type: str | None) -> tuple[str, str]:
    """The media type of a Content-Type header, lower case, and its charset (UTF-8 unless named)."""
    media, _, parameters = (content_type or "").partition(";")
    charset = "utf-8"
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


@cache
def _validator(
    path: str, method: str, status: str, media: str = "application/json"
) -> Draft202012Validator | None:
    document = _document()
    answer = document["paths"][path][method.lower()]["responses"].get(status)
    schema = ((answer or {}).get("content") or {}).get(media, {}).get("schema")
    if schema is None:
        return None
    components = strict(document["components"])
    return Draft202012Validator(
        {**strict(schema), "components": components}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _error_codes(path: str, method: str, status: str) -> frozenset[str] | None:
    answer = _document()["paths"][path][method.lower()]["responses"].get(status) or {}
    listed = answer.get("x-error-codes")
    return frozenset(listed) if listed is not None else None


def operation_of(method: str, path: str) -> str | None:
    bare = path.split("?", 1)[0]
    for pattern, documented_method, documented_path in _operations():
        if documented_method == method.upper() and pattern.match(bare):
            return documented_path
    return None


def check(method: str, path: str, status: int, content_type: str | None, raw: bytes) -> None:
    documented = operation_of(method, path)
    if documented is None or not raw:
        return
    listed = _media_types(documented, method, str(status))
    if listed is None:
        return
    media, charset = media_type_of(content_type)
    assert media in listed, (
        f"{method} {path} answered {status} as {media or 'no media type'}, which its document does not "
        f"list ({sorted(listed)})"
    )
    validator = _validator(documented, method, str(status), media)
    if validator is None:
        return
    if media != "application/json":
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise AssertionError(f"{method} {path} answered {status} {media} not in {charset}") from exc
        errors = list(validator.iter_errors(text))
        assert not errors, f"{method} {path} answered {status} {media} outside its schema: {errors[0]}"
        return
    data = json.loads(raw)
    codes = _error_codes(documented, method, str(status))
    code = (data.get("error") or {}).get("code") if status >= 400 and isinstance(data, dict) else None
    assert codes is None or code is None or code in codes, (
        f"{method} {path} answered {status} {code}, which its document does not list ({sorted(codes or ())})"
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path} answered {status} outside its documented schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
    )


def checked(test_client: Any) -> Any:
    """The Chalice test client, with every response it returns checked against the document."""
    http = test_client.http
    send = http.request

    def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
        response = send(method, path, headers=headers, body=body)
        content_type = {k.lower(): v for k, v in (response.headers or {}).items()}.get("content-type")
        check(method, path, response.status_code, content_type, response.body)
        return response

    http.request = request
    return test_client
