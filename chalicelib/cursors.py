"""The one codec for list cursors: opaque to clients, HMAC-signed, bounded in size and depth, bound to
the list it came from, and validated into the exact key shape before anything reaches DynamoDB.

A cursor is `<payload>.<tag>`: the payload is the key as compact JSON in base64url, the tag an HMAC of
the list's scope and the payload. The tag is checked before the payload is parsed, so a cursor this
service did not issue for this list (forged, truncated, from another box or another user) is refused
without ever being decoded. Anything wrong answers 400 INVALID_CURSOR.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.errors import InvalidInput
from chalicelib.settings import get_settings

MAX_CURSOR_CHARS = 1024
_TAG_BYTES = 16

K = TypeVar("K", bound="CursorKey")


class CursorKey(BaseModel):
    """Base of every list's key shape: exact fields, exact types, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def invalid_cursor(reason: str = "The cursor is not valid for this list.") -> InvalidInput:
    return InvalidInput(reason, code="INVALID_CURSOR", details=[{"field": "cursor", "message": reason}])


def _secret() -> bytes:
    settings = get_settings()
    if settings.cursor_secret_id:
        # Secrets Manager through Powertools' cache (chalicelib.store.aws), in AWS as in the local stack.
        from chalicelib.store import aws

        return aws.secret(settings.cursor_secret_id).encode()
    # Only where no AWS is emulated (unit tests): derived from the stage's prefix, so a stage's cursors
    # still fail on another.
    return f"clusterxchange-cursor:{settings.resource_prefix}".encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _tag(scope: str, payload: str) -> str:
    mac = hmac.new(_secret(), f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
    return _b64(mac[:_TAG_BYTES])


def encode(scope: str, key: CursorKey) -> str:
    """The cursor for `key` in the list named by `scope` (e.g. "contact-requests:outgoing:<reg id>")."""
    payload = _b64(json.dumps(key.model_dump(mode="json"), separators=(",", ":")).encode())
    cursor = f"{payload}.{_tag(scope, payload)}"
    if len(cursor) > MAX_CURSOR_CHARS:  # a key shape that outgrows the bound is a bug, not input
        raise ValueError(f"cursor of {len(cursor)} characters for {scope}")
    return cursor


def decode(scope: str, cursor: str | None, shape: type[K]) -> K | None:
    """The key a cursor of this list carries, or None for the first page; INVALID_CURSOR otherwise."""
    if cursor is None:
        return None
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise invalid_cursor()
    payload, tag = cursor.split(".")
    # Bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, not a mismatch).
    if not hmac.compare_digest(tag.encode(), _tag(scope, payload).encode()):
        raise invalid_cursor()
    try:
        data: Any = json.loads(_unb64(payload))
    # RecursionError too: a signed payload is ours, but the bound on size is the only bound on depth.
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise invalid_cursor() from exc
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        raise invalid_cursor() from exc
