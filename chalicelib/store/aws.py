"""boto3 clients, created lazily once per container (import stays free of network calls)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


@cache
def client(service: str) -> Any:
    settings = get_settings()
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": _CONFIG}
    if settings.aws_endpoint_url:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
        # DynamoDB Streams would otherwise go to an account-based endpoint the emulator does not route.
        # Only here: in AWS the functions run the runtime's botocore, which may predate the option.
        kwargs["config"] = _CONFIG.merge(Config(account_id_endpoint_mode="disabled"))
    return boto3.session.Session().client(service, **kwargs)


# A secret's value is read again after this long: one GetSecretValue an hour per container, and a
# rotated secret reaches every container within the hour.
SECRET_MAX_AGE_SECONDS = 3600


@cache
def _secrets() -> Any:
    # Powertools' Parameters (with its cache) loads with the first secret read, not with the app.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def secret(secret_id: str) -> str:
    """A Secrets Manager secret's string, cached for SECRET_MAX_AGE_SECONDS."""
    return str(_secrets().get(secret_id, max_age=SECRET_MAX_AGE_SECONDS))


def reset_clients() -> None:
    """Forget cached clients and what they read (tests start a fresh emulator per test)."""
    client.cache_clear()
    _secrets.cache_clear()
