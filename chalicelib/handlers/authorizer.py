"""The API's built-in token authorizer: every non-public route is behind it, in every stage."""

from __future__ import annotations

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest

from chalicelib.auth import TokenRejected, verify_id_token
from chalicelib.observability import logger

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
