"""Verifying Cognito ID tokens and the principal a handler sees."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    import jwt

# PyJWT and cryptography (~30 ms) are imported by the authorizer when it first verifies a token, not
# by every function at import: a route's handler only reads the principal the authorizer passed on.

ROLES = ("participant", "partnership", "support", "finance", "admin")


class TokenRejected(Exception):
    """The token is missing, malformed, expired or not ours.

    API Gateway turns an authorizer failing with the message "Unauthorized" into a 401, so that is
    the exception's text; the reason is kept apart for the log and the local gateway's body.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    roles: frozenset[str]
    partnership_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def to_context(self) -> dict[str, str]:
        # API Gateway passes only flat string/number/boolean values from an authorizer's context.
        return {
            "user_id": self.user_id,
            "email": self.email,
            "roles": ",".join(sorted(self.roles)),
            "partnership_id": self.partnership_id or "",
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        roles = frozenset(r for r in str(context.get("roles", "")).split(",") if r)
        return cls(
            user_id=str(context["user_id"]),
            email=str(context.get("email", "")),
            roles=roles,
            partnership_id=str(context.get("partnership_id") or "") or None,
        )


@cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    # One client per container: keys are fetched once and cached, refetched only for an unknown kid.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def verify_id_token(token: str) -> Principal:
    import jwt

    settings = get_settings()
    if not token:
        raise TokenRejected("no token")
    scheme, _, value = token.strip().partition(" ")
    raw = value.strip() if scheme.lower() == "bearer" else token.strip()
    try:
        key = _jwks_client(settings.jwks).get_signing_key_from_jwt(raw)
        claims = jwt.decode(
            raw,
            key.key,
            algorithms=["RS256"],
            audience=settings.app_client_id,
            issuer=settings.issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            leeway=5,
        )
    except jwt.PyJWKClientConnectionError as exc:
        raise TokenRejected("signing keys unavailable") from exc
    except jwt.PyJWKClientError as exc:
        raise TokenRejected("unknown signing key") from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected(f"invalid token: {type(exc).__name__}") from exc
    if claims.get("token_use") != "id":
        raise TokenRejected("not an ID token")
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = [groups]
    return Principal(
        user_id=str(claims["sub"]),
        email=str(claims.get("email") or claims.get("cognito:username") or ""),
        roles=frozenset(g for g in groups if g in ROLES),
        partnership_id=claims.get("custom:partnership_id") or None,
    )
