"""Domain errors: what a use case or rule refuses, in the programme's words. They know nothing of HTTP;
the HTTP adapter (handlers.http) maps each class to a status code and the contract's error body, and
event functions log them and report the record as failed."""

from __future__ import annotations

from typing import Any

from chalicelib.rules import RuleViolation


class DomainError(Exception):
    """Base of every refusal. `code` is the stable code clients see; `details` explain it."""

    default_code = "ERROR"

    def __init__(self, message: str, code: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or []


class InvalidInput(DomainError):
    """The input is malformed or of the wrong shape (not a programme rule)."""

    default_code = "VALIDATION_ERROR"


class Unauthenticated(DomainError):
    default_code = "UNAUTHORIZED"


class Forbidden(DomainError):
    """The caller's role or part in the object does not allow the action."""

    default_code = "FORBIDDEN"


class NotFound(DomainError):
    """No such object, or one the caller may not know exists."""

    default_code = "NOT_FOUND"


class Conflict(DomainError):
    """The object's state or version does not allow the action now."""

    default_code = "CONFLICT"


class TooLarge(DomainError):
    default_code = "PAYLOAD_TOO_LARGE"


class RuleBroken(DomainError):
    """A programme rule is not met; the code names the rule."""

    default_code = "RULE_VIOLATION"

    @classmethod
    def from_violations(cls, violations: list[RuleViolation]) -> RuleBroken:
        first = violations[0]
        return cls(first.message, code=first.code, details=[v.as_detail() for v in violations])


class Throttled(DomainError):
    default_code = "THROTTLED"


def version_conflict(current: dict[str, Any], what: str = "It") -> Conflict:
    """The one answer to a stale write: 409 with the current resource, so the client can merge."""
    return Conflict(f"{what} changed since you read it.", code="VERSION_CONFLICT", details=[current])
