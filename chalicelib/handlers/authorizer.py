"""The API's built-in token authorizer: every non-public route is behind it, in every stage."""

from __future__ import annotations

from typing import Any

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest, ChaliceAuthorizer

from chalicelib.auth import TokenRejected, verify_id_token
from chalicelib.observability import entry, logger

authorizer_blueprint = Blueprint(__name__)


@authorizer_blueprint.authorizer(name="cognito_token", ttl_seconds=300)
def cognito_token(auth_request: AuthRequest) -> AuthResponse:
    try:
        principal = verify_id_token(auth_request.token)
    except TokenRejected as exc:
        # The reason is safe to log: it never contains the token or its claims.
        logger.info("token rejected", extra={"reason": exc.reason})
        raise
    return AuthResponse(routes=["*"], principal_id=principal.user_id, context=principal.to_context())


class _Entry(ChaliceAuthorizer):
    """The authorizer's Lambda entry with the same logging as every function's (observability.entry).
    Chalice calls the authorizer object with (event, context) but hands the function only the token,
    and routes name this very object, so its class is extended rather than the object replaced."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return entry(super().__call__, "cognito_token")(event, context)


cognito_token.__class__ = _Entry
