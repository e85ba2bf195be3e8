"""Pure programme rules: no AWS, no I/O. Each violation carries the stable code clients see in a 422."""

from __future__ import annotations


class RuleViolation(Exception):
    """A programme rule is not met; `code` is the 422 error code named in the API contract."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_detail(self) -> dict[str, str]:
        detail = {"code": self.code, "message": self.message}
        if self.field:
            detail["field"] = self.field
        return detail
