"""What API Gateway does in front of the app that Chalice's local gateway does not.

In AWS an authorizer that fails with "Unauthorized" gives a 401, and the gateway responses in
infra.resources shape the bodies API Gateway writes itself. Chalice's local gateway (used by
`chalice local` and `chalice.test.Client`) would instead crash on the authorizer's exception and
answer in its own body shape, so the local stack and the tests install this adapter.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice import local

from chalicelib.auth import TokenRejected
from chalicelib.settings import get_settings
from infra.resources import GATEWAY_RESPONSES, gateway_response_headers

_installed = False


def _gateway_error(kind: str, headers: dict[str, Any]) -> local.LocalGatewayException:
    status, body = GATEWAY_RESPONSES[kind]
    error = local.LocalGatewayException(
        {**headers, **gateway_response_headers(get_settings())}, json.dumps(json.loads(body)).encode()
    )
    error.CODE = status
    return error


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    original_authorize = local.LocalGatewayAuthorizer.authorize
    original_handle = local.LocalGateway.handle_request
    original_event = local.LocalGateway._generate_lambda_event

    def authorize(self: Any, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        headers = {"x-amzn-RequestId": lambda_context.aws_request_id}
        try:
            return original_authorize(self, raw_path, lambda_event, lambda_context)
        except (TokenRejected, local.NotAuthorizedError) as exc:
            raise _gateway_error("UNAUTHORIZED", headers) from exc
        except local.ForbiddenError as exc:
            raise _gateway_error("ACCESS_DENIED", headers) from exc

    def handle_request(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return original_handle(self, method, path, headers, body)
        except local.ForbiddenError as exc:
            text = exc.body or b""
            # Chalice's words for "no such route" (with or without an Authorization header).
            if b"Missing Authentication Token" in text or b"Credential" in text:
                raise _gateway_error("MISSING_AUTHENTICATION_TOKEN", exc.headers) from exc
            raise

    def generate_lambda_event(self: Any, *args: Any, **kwargs: Any) -> Any:
        # API Gateway gives every request its own id in the request context; Chalice's local gateway
        # gives none, and the app's shared lambda_context would mix ids of concurrent requests.
        event = original_event(self, *args, **kwargs)
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        return event

    # Patched on Chalice's local server's classes, on purpose (the checker flags assigning to a method).
    local.LocalGatewayAuthorizer.authorize = authorize  # type: ignore[method-assign]
    local.LocalGateway._generate_lambda_event = generate_lambda_event  # type: ignore[method-assign]
    local.LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
