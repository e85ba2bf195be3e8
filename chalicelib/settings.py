"""Settings: read once from the environment into one validated model; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "dev"
    region: str = "eu-west-1"
    # Set only where AWS is emulated (the local stack, end-to-end tests); None means real AWS.
    aws_endpoint_url: str | None = None
    resource_prefix: str = "cxc-dev"
    # Users' uploads only: every object there is checked, and anything not an upload is removed.
    documents_bucket: str = "cxc-dev-documents"
    # The service's own files (the catalogue snapshot): never written by a client, never notified.
    artifacts_bucket: str = "cxc-dev-artifacts"
    user_pool_id: str = ""
    app_client_id: str = ""
    # Cognito's issuer and JWKS URL are settings because the emulator serves keys from its own
    # address while its tokens name real AWS as issuer.
    token_issuer: str = ""
    jwks_url: str = ""
    mail_sender: str = "no-reply@clusterxchange.example"
    # The web app's base URL: every message links to the object it is about there (per stage).
    web_app_url: str = "http://localhost:3000"
    # Where overdue payments are reported (the programme's finance desk).
    finance_email: str = "finance@clusterxchange.example"
    # The payments queue's URL (the template passes it; the local stack and the tests set it too).
    payments_queue_url: str = ""
    # A file holding the business date (YYYY-MM-DD); only the local stack sets it, so demos and
    # tests can move time. Unset in AWS, where "today" is the real date.
    clock_file: str | None = None
    log_level: str = "INFO"
    service_name: str = "clusterxchange"
    metrics_namespace: str = "ClusterXchange"
    metrics_enabled: bool = True
    tracing_enabled: bool = False
    # Where the catalogue builder keeps the index snapshot and the documents it was built from.
    catalogue_index_prefix: str = "index/"
    # The Secrets Manager secret (name or ARN) list cursors are signed with (chalicelib.cursors): the
    # template makes one per stack, the local stack and the tests' emulator one each. Unset only in
    # tests without AWS, where the key is derived from the prefix.
    cursor_secret_id: str = ""
    # Web origins a browser may call the API from (CORS); per stage in AWS, never "*" there.
    allowed_origins: tuple[str, ...] = ("http://localhost:3000", "http://127.0.0.1:3000")
    # An export (GET /v1/exports/exchanges.csv) is answered inline up to these many rows and bytes;
    # a larger one is written to the artifacts bucket under `exports_prefix` (expired there after a
    # few days, infra.resources) and answered with a short-lived link.
    export_inline_rows: int = 1000
    export_inline_bytes: int = 1_000_000
    exports_prefix: str = "exports/"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    def table_name(self, short: str) -> str:
        return f"{self.resource_prefix}-{short}"

    @property
    def issuer(self) -> str:
        return self.token_issuer or f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


# Environment variable -> field. Kept explicit so the deployed config and the local stack agree.
_ENV = {
    "CXC_STAGE": "stage",
    "AWS_REGION": "region",
    "CXC_AWS_ENDPOINT_URL": "aws_endpoint_url",
    "CXC_RESOURCE_PREFIX": "resource_prefix",
    "CXC_DOCUMENTS_BUCKET": "documents_bucket",
    "CXC_ARTIFACTS_BUCKET": "artifacts_bucket",
    "CXC_USER_POOL_ID": "user_pool_id",
    "CXC_APP_CLIENT_ID": "app_client_id",
    "CXC_TOKEN_ISSUER": "token_issuer",
    "CXC_JWKS_URL": "jwks_url",
    "CXC_MAIL_SENDER": "mail_sender",
    "CXC_FINANCE_EMAIL": "finance_email",
    "CXC_WEB_APP_URL": "web_app_url",
    "CXC_PAYMENTS_QUEUE_URL": "payments_queue_url",
    "CXC_CLOCK_FILE": "clock_file",
    "LOG_LEVEL": "log_level",
    "POWERTOOLS_SERVICE_NAME": "service_name",
    "POWERTOOLS_METRICS_NAMESPACE": "metrics_namespace",
    "CXC_METRICS_ENABLED": "metrics_enabled",
    "CXC_TRACING_ENABLED": "tracing_enabled",
    "CXC_CURSOR_SECRET_ID": "cursor_secret_id",
    "CXC_ALLOWED_ORIGINS": "allowed_origins",
    "CXC_EXPORT_INLINE_ROWS": "export_inline_rows",
    "CXC_EXPORT_INLINE_BYTES": "export_inline_bytes",
    "CXC_EXPORTS_PREFIX": "exports_prefix",
}


def settings_from(environ: Mapping[str, str]) -> Settings:
    """The settings an environment gives (a function's, as the deployment template sets it, or ours)."""
    return Settings.model_validate({field: environ[var] for var, field in _ENV.items() if environ.get(var)})


@cache
def get_settings() -> Settings:
    return settings_from(os.environ)
