"""Domain errors: what a use case or rule refuses, in the programme's words. They know nothing of HTTP;
the HTTP adapter (handlers.http) maps each class to a status code and the contract's error body, and
event functions log them and report the record as failed. AWS asking us to slow down is no refusal but
is answered as one (Unavailable), so that it is recognised in one place."""

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


class Unavailable(DomainError):
    """AWS asked us to slow down and kept asking through botocore's retries: nothing was done, and the
    same request may succeed once `retry_after` seconds have passed."""

    default_code = "SERVICE_UNAVAILABLE"
    RETRY_AFTER_SECONDS = 2

    def __init__(
        self,
        message: str = "The service is busy; try again shortly.",
        code: str | None = None,
        details: list[Any] | None = None,
        retry_after: int = RETRY_AFTER_SECONDS,
    ) -> None:
        super().__init__(message, code, details)
        self.retry_after = retry_after

    @classmethod
    def caused(cls, exc: BaseException) -> Unavailable | None:
        """The overload `exc` stands for, if AWS told us to slow down anywhere in its chain (a botocore
        ClientError, PynamoDB's wrapping of one, a transaction cancelled for it); None otherwise."""
        return cls() if any(_slow_down(e) for e in _chain(exc)) else None


# What AWS answers when it wants fewer requests: botocore's standard retry mode's throttling codes
# (without LimitExceededException, which some services use for a per-user limit, a 429), and
# TransactionConflictException: a plain write met a transaction in flight on its item.
_SLOW_DOWN_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
# Why DynamoDB cancels a transaction when it is overloaded, or busy with another transaction on an
# item: the same write succeeds later. (A retry loop around the write tries TransactionConflict again
# first; only what escapes it arrives here.)
_SLOW_DOWN_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: Python's causes and contexts, and PynamoDB's `cause`."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or any(e is f for f in found):
            continue
        found.append(e)
        todo.extend((getattr(e, "cause", None), e.__cause__, e.__context__))
    return found


def _slow_down(exc: BaseException) -> bool:
    # Read by shape, not by class: the HTTP adapter asks this of every failure, and importing botocore
    # or PynamoDB for it would cost every Lambda function's cold start.
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        metadata = response.get("ResponseMetadata") or {}
        if error.get("Code") in _SLOW_DOWN_CODES:
            return True
        # botocore gave up retrying an answer it deemed transient (a 5xx, a timeout): overload too.
        if metadata.get("MaxAttemptsReached") and int(metadata.get("HTTPStatusCode") or 0) >= 500:
            return True
        if any(r.get("Code") in _SLOW_DOWN_REASONS for r in response.get("CancellationReasons") or ()):
            return True
    try:
        reasons = getattr(exc, "cancellation_reasons", None) or ()
    except Exception:  # PynamoDB's property reads its cause, which may not be one that has them
        reasons = ()
    return any(getattr(r, "code", None) in _SLOW_DOWN_REASONS for r in reasons)


def version_conflict(current: dict[str, Any], what: str = "It") -> Conflict:
    """The one answer to a stale write: 409 with the current resource, so the client can merge."""
    return Conflict(f"{what} changed since you read it.", code="VERSION_CONFLICT", details=[current])
