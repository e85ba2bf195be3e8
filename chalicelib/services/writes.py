"""The one read-check-write loop of the use cases: optimistic writes that lost a race are retried from
a fresh read, unless the caller pinned the version it read, which then answers 409 with what is there.
A write DynamoDB cancelled for another transaction in flight (Contended) is retried in every case."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.errors import Conflict, version_conflict
from chalicelib.store.writes import Contended, StaleVersion

T = TypeVar("T")
# N independent writers on one item (four signatures, two approvals) lose to one another at most N - 1
# times each when every round has a winner; the rest is headroom for the system's own writes on the
# same item (an upload's verdict, the agreements) arriving meanwhile.
ATTEMPTS = 8
FIRST_PAUSE_SECONDS = 0.01
MAX_PAUSE_SECONDS = 0.25
pause = time.sleep


def backoff(retry: int) -> float:
    """How long to wait before retry number `retry` (1, 2, ...): "full jitter", a random time up to an
    exponentially growing, capped bound, so writers that lost together do not collide again."""
    return random.uniform(0, min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (retry - 1)))


def check_version(pinned: int | None, current: dict[str, Any], shown: dict[str, Any], what: str) -> None:
    """A caller that sent the version it read gets 409 VERSION_CONFLICT (with `shown`) when it is stale."""
    if pinned is not None and pinned != current["version"]:
        raise version_conflict(shown, what)


def optimistic(attempt: Callable[[], T], what: str) -> T:
    """Run `attempt` (read, check, write) until no concurrent write beats it, at most ATTEMPTS times,
    pausing a jittered, growing while between attempts."""
    for retry in range(ATTEMPTS):
        if retry:
            pause(backoff(retry))
        try:
            return attempt()
        except (StaleVersion, Contended):
            continue
    raise Conflict(f"{what} is being changed by someone else; try again.", code="VERSION_CONFLICT")
