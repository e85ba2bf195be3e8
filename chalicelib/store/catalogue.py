"""The catalogue index: accepted registrations read from the sparse GSI, and their snapshot in S3.

The snapshot (gzipped JSON of public registration documents) is what warm functions hold in
memory; they revalidate it with one conditional GET per request instead of reading DynamoDB.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

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


def mark_changed() -> None:
    """Count a change to the catalogue; the scheduled builder rebuilds when the count moved."""
    MetaModel(pk=_INDEX_META).update(
        actions=[MetaModel.count.add(1), MetaModel.updated_at.set(now_iso())],
    )


def index_state() -> tuple[int, int | None]:
    """(changes counted, changes the current snapshot includes); a missing item means never built."""
    try:
        item = MetaModel.get(_INDEX_META, consistent_read=True)
    except DoesNotExist:
        return 0, None
    built = int(item.built) if item.built is not None else None
    return int(item.count or 0), built


def record_built(count: int) -> None:
    MetaModel(pk=_INDEX_META).update(actions=[MetaModel.built.set(count)])


def put_snapshot(documents: list[dict[str, Any]]) -> None:
    body = gzip.compress(json.dumps(documents, separators=(",", ":")).encode(), compresslevel=6)
    settings = get_settings()
    client("s3").put_object(
        Bucket=settings.artifacts_bucket,
        Key=settings.catalogue_index_key,
        Body=body,
        ContentType="application/json",
        ContentEncoding="gzip",
    )


def get_snapshot(etag: str | None) -> tuple[str, list[dict[str, Any]]] | None:
    """The snapshot and its ETag, or None when `etag` is still current (HTTP 304). One S3 call."""
    settings = get_settings()
    kwargs: dict[str, Any] = {"Bucket": settings.artifacts_bucket, "Key": settings.catalogue_index_key}
    if etag:
        kwargs["IfNoneMatch"] = etag
    try:
        response = client("s3").get_object(**kwargs)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("304", "NotModified"):
            return None
        if code in ("NoSuchKey", "404"):
            return "", []
        raise
    raw = response["Body"].read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return str(response["ETag"]), list(json.loads(raw))
