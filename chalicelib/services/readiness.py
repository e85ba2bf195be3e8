"""Readiness, for operators: the tables and buckets answer, and the outbox is not backed up. Liveness
(`GET /v1/health`) asks nothing of AWS; this asks every dependency, so it is not public."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.errors import Unavailable
from chalicelib.store import health, outbox

# A pending effect due this long ago has missed several of the schedule's minutely re-drives: the
# outbox is backed up (the dispatcher fails or cannot keep up).
BACKLOG_AFTER = timedelta(minutes=10)
# Counted up to this many (one Query of the sparse index, COUNT only): beyond it the answer is the same.
BACKLOG_COUNT_LIMIT = 100


class NotReady(Unavailable):
    default_code = "NOT_READY"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check() -> dict[str, Any]:
    """Every check's result; NotReady (503) naming the failed ones when any fails."""
    checks: list[dict[str, Any]] = []
    for name in health.table_names():
        problem = health.table_problem(name)
        checks.append({"name": f"table:{name}", "ok": problem is None, "detail": problem})
    for name in health.bucket_names():
        problem = health.bucket_problem(name)
        checks.append({"name": f"bucket:{name}", "ok": problem is None, "detail": problem})
    overdue = outbox.overdue_count(_iso(clock.now() - BACKLOG_AFTER), BACKLOG_COUNT_LIMIT)
    checks.append(
        {
            "name": "outbox:backlog",
            "ok": overdue == 0,
            "detail": f"{overdue} pending effects due over {BACKLOG_AFTER.seconds // 60} minutes ago"
            if overdue
            else None,
        }
    )
    failed = [c for c in checks if not c["ok"]]
    if failed:
        raise NotReady(
            "Not ready: " + ", ".join(c["name"] for c in failed),
            details=[{"field": c["name"], "message": c["detail"]} for c in failed],
        )
    return {"ready": True, "checks": checks}
