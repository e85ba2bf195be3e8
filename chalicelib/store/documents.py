"""Files in the documents bucket: presigned uploads and downloads, and reading back what was uploaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.settings import get_settings
from chalicelib.store.aws import client


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str | None


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


def presigned_get(key: str, expires_in: int) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": get_settings().documents_bucket, "Key": key},
            ExpiresIn=expires_in,
        )
    )


def head(bucket: str, key: str) -> ObjectHead | None:
    try:
        response = client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return ObjectHead(size=int(response.get("ContentLength", 0)), content_type=response.get("ContentType"))


def read(bucket: str, key: str) -> bytes:
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    try:
        return bytes(body.read())
    finally:
        body.close()


def delete(bucket: str, key: str) -> None:
    # S3 answers a delete of a missing key with success, so redelivered events can delete again.
    client("s3").delete_object(Bucket=bucket, Key=key)


def documents_bucket() -> str:
    return get_settings().documents_bucket
