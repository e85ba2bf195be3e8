"""The error model of the API contract: every 4xx/5xx body is {"error": {code, message, details}}."""

from __future__ import annotations

import json
from typing import Any

from chalice import ChaliceUnhandledError, Response

from chalicelib.rules import RuleViolation

JSON_HEADERS = {"Content-Type": "application/json"}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response:
    return Response(body=error_body(code, message, details), status_code=status, headers=dict(JSON_HEADERS))


# Subclassing ChaliceUnhandledError makes Chalice re-raise these past its own handler so the error
# middleware can shape them; Chalice's ChaliceViewError would drop `details`.
class ApiError(ChaliceUnhandledError):
    status = 500
    default_code = "INTERNAL_ERROR"

    def __init__(self, message: str, code: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or []

    def to_response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.details)


class BadRequest(ApiError):
    status = 400
    default_code = "VALIDATION_ERROR"


class Unauthorized(ApiError):
    status = 401
    default_code = "UNAUTHORIZED"


class Forbidden(ApiError):
    status = 403
    default_code = "FORBIDDEN"


class NotFound(ApiError):
    status = 404
    default_code = "NOT_FOUND"


class Conflict(ApiError):
    status = 409
    default_code = "CONFLICT"


class PayloadTooLarge(ApiError):
    status = 413
    default_code = "PAYLOAD_TOO_LARGE"


class RuleBroken(ApiError):
    status = 422
    default_code = "RULE_VIOLATION"

    @classmethod
    def from_violations(cls, violations: list[RuleViolation]) -> RuleBroken:
        first = violations[0]
        return cls(first.message, code=first.code, details=[v.as_detail() for v in violations])


class Throttled(ApiError):
    status = 429
    default_code = "THROTTLED"


def reshape_chalice_error(response: Response) -> Response:
    """Chalice answers some errors itself ({"Code", "Message"}); give them the contract's shape."""
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not isinstance(body, dict) or "error" in body or "Code" not in body:
        return response
    code = {
        "BadRequestError": "BAD_REQUEST",
        "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
        "MethodNotAllowedError": "METHOD_NOT_ALLOWED",
        "NotFoundError": "NOT_FOUND",
        "TooManyRequestsError": "THROTTLED",
        "RequestTooLargeError": "PAYLOAD_TOO_LARGE",
    }.get(str(body.get("Code")), "INTERNAL_ERROR")
    message = str(body.get("Message") or "Request failed")
    if response.status_code >= 500:
        message = "An internal error occurred."
    headers = {**(response.headers or {}), **JSON_HEADERS}
    return Response(body=error_body(code, message), status_code=response.status_code, headers=headers)
