"""Files in the documents bucket: presigned uploads and downloads, reading back what was uploaded, and
the conditional writes and deletes that keep upload keys one-time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.settings import get_settings
from chalicelib.store.aws import client

_MISSING = ("404", "NoSuchKey", "NotFound")
_PRECONDITION_FAILED = ("412", "PreconditionFailed")


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str | None
    etag: str


@dataclass(frozen=True)
class FetchedObject:
    """An object as one GET returned it: its ETag, its size, and its bytes unless it was larger than
    the caller would read (then `content` is None)."""

    etag: str
    size: int
    content: bytes | None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def presigned_post(key: str, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A browser-ready POST form for exactly `key`, of this content type and 1..max_bytes bytes.

    The conditions bind the upload in AWS; the check after upload is still the real guard (the
    emulator does not enforce them, and a client can lie about the type).
    """
    return dict(
        client("s3").generate_presigned_post(
            Bucket=get_settings().documents_bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"key": key},
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
    )


def presigned_get(key: str, expires_in: int, bucket: str | None = None) -> str:
    """A short-lived download link (the documents bucket unless another is named)."""
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket or get_settings().documents_bucket, "Key": key},
            ExpiresIn=expires_in,
        )
    )


def head(bucket: str, key: str) -> ObjectHead | None:
    try:
        response = client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    return ObjectHead(
        size=int(response.get("ContentLength", 0)),
        content_type=response.get("ContentType"),
        etag=str(response["ETag"]),
    )


def fetch(bucket: str, key: str, max_bytes: int) -> FetchedObject | None:
    """The object in one GET (so its ETag and bytes belong together), reading at most max_bytes; None
    if there is no such object."""
    try:
        response = client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    body = response["Body"]
    try:
        size = int(response.get("ContentLength", 0))
        content: bytes | None = None
        if size <= max_bytes:
            content = bytes(body.read(max_bytes + 1))
            size = len(content)
            if size > max_bytes:
                content = None
    finally:
        body.close()
    return FetchedObject(etag=str(response["ETag"]), size=size, content=content)


def put_new(bucket: str, key: str, content: bytes, content_type: str) -> bool:
    """Write `key` only if nothing is there yet; False if something is (keys written once stay as written)."""
    try:
        client("s3").put_object(
            Bucket=bucket,
            Key=key,
            Body=content,
            ContentType=content_type,
            ContentDisposition="attachment",
            IfNoneMatch="*",
        )
    except ClientError as exc:
        if _code(exc) in _PRECONDITION_FAILED:
            return False
        raise
    return True


def put_download(bucket: str, key: str, content: bytes, content_type: str, filename: str) -> None:
    """Write a file that a presigned GET hands out as a download named `filename` (plain ASCII)."""
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=content,
        ContentType=content_type,
        ContentDisposition=f'attachment; filename="{filename}"',
    )


def delete_if(bucket: str, key: str, etag: str) -> bool:
    """Delete the object only if it is still the one with this ETag; False if it is gone or was
    replaced meanwhile (a replacement has a notification of its own)."""
    try:
        client("s3").delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        if _code(exc) in _MISSING + _PRECONDITION_FAILED:
            return False
        raise
    return True


def delete(bucket: str, key: str) -> None:
    # S3 answers a delete of a missing key with success, so redelivered events can delete again.
    client("s3").delete_object(Bucket=bucket, Key=key)


def documents_bucket() -> str:
    return get_settings().documents_bucket


def artifacts_bucket() -> str:
    return get_settings().artifacts_bucket
