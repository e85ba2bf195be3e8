"""The one read-check-write loop of the use cases: optimistic writes that lost a race are retried from
a fresh read, unless the caller pinned the version it read, which then answers 409 with what is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.errors import Conflict, version_conflict
from chalicelib.store.writes import StaleVersion

T = TypeVar("T")
ATTEMPTS = 3


def check_version(pinned: int | None, current: dict[str, Any], shown: dict[str, Any], what: str) -> None:
    """A caller that sent the version it read gets 409 VERSION_CONFLICT (with `shown`) when it is stale."""
    if pinned is not None and pinned != current["version"]:
        raise version_conflict(shown, what)


def optimistic(attempt: Callable[[], T], what: str) -> T:
    """Run `attempt` (read, check, write) until no concurrent write beats it, at most ATTEMPTS times."""
    for _ in range(ATTEMPTS):
        try:
            return attempt()
        except StaleVersion:
            continue
    raise Conflict(f"{what} is being changed by someone else; try again.", code="VERSION_CONFLICT")
