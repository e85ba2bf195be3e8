"""The catalogue index: accepted registrations read from the sparse GSI (a full build) or by id (the
changed ones), the change set the registrations stream keeps, and the two S3 objects the builder
writes: the index snapshot containers load, and the public documents the next build starts from.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.clock import now_iso
from chalicelib.settings import get_settings
from chalicelib.store.aws import client
from chalicelib.store.models import CATALOGUE_SHARDS, MetaModel, RegistrationModel

_INDEX_META = "catalogue-index"


def public_document(item: RegistrationModel) -> dict[str, Any]:
    """The registration as the catalogue index knows it: no personal attribute at all."""
    profile = dict(item.profile or {})
    return {
        "id": item.id,
        "user_id": item.user_id,
        "status": item.status,
        "roles": list(item.roles or []),
        "partnership_id": item.partnership_id,
        "updated_at": item.updated_at,
        "exchanges": item.exchanges or {},
        "organisation": profile.get("organisation") or {},
        "representative": profile.get("representative") or {},
        "motivation": profile.get("motivation") or "",
        "preferences": profile.get("preferences") or {},
        "hosting": profile.get("hosting"),
    }


def read_accepted() -> list[dict[str, Any]]:
    """Every accepted registration, by Query over the index's shards (the builder's job, not a request's)."""
    documents = []
    for shard in range(CATALOGUE_SHARDS):
        for item in RegistrationModel.catalogue.query(f"accepted#{shard}"):
            documents.append(public_document(item))
    return documents


def read_by_ids(ids: Iterable[str]) -> list[dict[str, Any]]:
    """The public documents of these registrations, whatever their status (BatchGetItem, 100 a call);
    missing ones are left out. Read units follow the number of ids, not the catalogue's size."""
    # Only the public attributes travel (DynamoDB still charges for the whole item).
    wanted = ["id", "user_id", "partnership_id", "status", "roles", "profile", "exchanges", "updated_at"]
    items = RegistrationModel.batch_get(sorted(set(ids)), attributes_to_get=wanted)
    return [public_document(item) for item in items]


def mark_changed(registration_id: str) -> None:
    """Note a change to one registration in the catalogue; the scheduled builder applies it."""
    meta = MetaModel(pk=_INDEX_META)
    try:
        meta.update(
            actions=[
                MetaModel.tally.add(1),
                MetaModel.changed.add({registration_id}),
                MetaModel.updated_at.set(now_iso()),
            ]
        )
    except UpdateError as exc:
        if _error_code(exc) != "ValidationException":
            raise
        # The change set outgrew its item (400 KB, some 10,000 ids): ask for a full rebuild instead.
        meta.update(actions=[MetaModel.tally.add(1), MetaModel.rebuild_all.set(True)])


def _error_code(exc: UpdateError) -> str:
    cause = exc.cause
    return str(cause.response.get("Error", {}).get("Code")) if isinstance(cause, ClientError) else ""


def index_state() -> tuple[int, int | None, frozenset[str], int | None, bool]:
    """(changes counted, changes the current snapshot includes, registrations changed since, format the
    last build wrote, full rebuild asked); a missing item means never built. One consistent read."""
    try:
        item = MetaModel.get(_INDEX_META, consistent_read=True)
    except DoesNotExist:
        return 0, None, frozenset(), None, False
    built = int(item.built) if item.built is not None else None
    built_format = int(item.built_format) if item.built_format is not None else None
    return (
        int(item.tally or 0),
        built,
        frozenset(item.changed or ()),
        built_format,
        bool(item.rebuild_all),
    )


def record_built(count: int, applied: frozenset[str], built_format: int, full: bool) -> None:
    """The snapshot now includes `count` changes: forget the ids it applied, unless changes were
    counted meanwhile (then they stay and the next build applies them again, which is harmless)."""
    done: list[Action] = [MetaModel.built.set(count), MetaModel.built_format.set(built_format)]
    forget: list[Action] = [MetaModel.changed.remove(), MetaModel.rebuild_all.remove()] if full else []
    if applied and not full:
        forget.append(MetaModel.changed.delete(set(applied)))
    meta = MetaModel(pk=_INDEX_META)
    try:
        meta.update(actions=done + forget, condition=MetaModel.tally == count)
    except UpdateError as exc:
        if _error_code(exc) != "ConditionalCheckFailedException":
            raise
        meta.update(actions=done)


def _key(name: str) -> str:
    return f"{get_settings().catalogue_index_prefix}{name}"


def index_key(version: int) -> str:
    # The format is in the key: code that reads another format finds no object (an empty catalogue
    # until its builder runs) rather than one it cannot read.
    return _key(f"catalogue.v{version}.npz")


def put_index(version: int, data: bytes) -> None:
    client("s3").put_object(
        Bucket=get_settings().artifacts_bucket,
        Key=index_key(version),
        Body=data,
        ContentType="application/octet-stream",
    )


def get_index(version: int, etag: str | None) -> tuple[str, bytes] | None:
    """The snapshot's bytes and ETag (b"" when none was built yet), or None when `etag` is still
    current (HTTP 304). One S3 call."""
    kwargs: dict[str, Any] = {"Bucket": get_settings().artifacts_bucket, "Key": index_key(version)}
    if etag:
        kwargs["IfNoneMatch"] = etag
    try:
        response = client("s3").get_object(**kwargs)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("304", "NotModified"):
            return None
        if code in ("NoSuchKey", "404"):
            return "", b""
        raise
    return str(response["ETag"]), response["Body"].read()


_DOCUMENTS_KEY = "catalogue-documents.json.gz"


def put_documents(documents: list[dict[str, Any]], version: int) -> None:
    body = json.dumps({"format": version, "documents": documents}, separators=(",", ":")).encode()
    client("s3").put_object(
        Bucket=get_settings().artifacts_bucket,
        Key=_key(_DOCUMENTS_KEY),
        Body=gzip.compress(body, compresslevel=6),
        ContentType="application/json",
        ContentEncoding="gzip",
    )


def get_documents(version: int) -> list[dict[str, Any]] | None:
    """The public documents of the last build, or None when there are none in this format."""
    try:
        response = client("s3").get_object(Bucket=get_settings().artifacts_bucket, Key=_key(_DOCUMENTS_KEY))
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404"):
            return None
        raise
    stored = json.loads(gzip.decompress(response["Body"].read()))
    if not isinstance(stored, dict) or stored.get("format") != version:
        return None
    return list(stored["documents"])
