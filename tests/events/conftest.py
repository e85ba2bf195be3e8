"""Event tests reuse the API tests' emulated AWS, app client and tokens."""

from __future__ import annotations

from tests.api.conftest import aws, client, jwks_base_url, token  # noqa: F401
