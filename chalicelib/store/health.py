"""What the readiness check asks AWS: each table active, each bucket reachable with the role's grants."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import get_settings
from chalicelib.store.aws import client
from chalicelib.store.models import ALL_MODELS


def table_names() -> list[str]:
    return [model.Meta.table_name for model in ALL_MODELS]


def bucket_names() -> list[str]:
    settings = get_settings()
    return [settings.documents_bucket, settings.artifacts_bucket]


def table_problem(name: str) -> str | None:
    """None when the table answers and is ACTIVE; else what is wrong (an AWS error code or the status)."""
    try:
        status = client("dynamodb").describe_table(TableName=name)["Table"]["TableStatus"]
    except ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code", "error"))
    except BotoCoreError as exc:
        return type(exc).__name__
    return None if status == "ACTIVE" else str(status)


def bucket_problem(name: str) -> str | None:
    """None when the bucket answers HeadBucket; else the error code (404: gone, 403: not ours)."""
    try:
        client("s3").head_bucket(Bucket=name)
    except ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code", "error"))
    except BotoCoreError as exc:
        return type(exc).__name__
    return None
