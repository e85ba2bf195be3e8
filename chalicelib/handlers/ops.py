"""Routes for the people who run the service: the effects that keep failing, and putting one back.
Shapes only: the use cases are in services.effects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers.http import Api, ApiModel, Call, ListQuery
from chalicelib.lazy import lazy

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import effects as service
    from chalicelib.services import readiness
else:
    service = lazy("chalicelib.services.effects")
    readiness = lazy("chalicelib.services.readiness")

api = Api(__name__, tag="operations")


class SubjectOut(ApiModel):
    kind: str
    id: str
    version: int


class StuckEffectOut(ApiModel):
    id: str
    effect: str
    subject: SubjectOut
    attempts: int
    last_error: str | None = None
    stuck_at: str | None = None
    created_at: str
    updated_at: str


class StuckEffectList(ApiModel):
    items: list[StuckEffectOut]
    next_cursor: str | None = None


class CheckOut(ApiModel):
    name: str
    ok: bool
    detail: str | None = None


class ReadinessOut(ApiModel):
    ready: bool
    checks: list[CheckOut]


# Operators' (admin, support) only: it tells which tables and buckets exist and how far behind the
# outbox is. A failed check answers 503 NOT_READY, its details naming each check that failed.
@api.route(
    "/v1/ops/ready",
    summary="Readiness: the tables and buckets answer and the outbox is not backed up",
    roles=("admin", "support"),
)
def ready(call: Call) -> ReadinessOut:
    return ReadinessOut.model_validate(readiness.check())


@api.route("/v1/ops/stuck", summary="Effects that kept failing, most recent first", roles=("admin",))
def list_stuck(call: Call, query: ListQuery) -> StuckEffectList:
    items, next_cursor = service.list_stuck(call.user, query.limit, query.cursor)
    return StuckEffectList.model_validate({"items": items, "next_cursor": next_cursor})


@api.route(
    "/v1/ops/stuck/{item_id}/retry",
    "POST",
    summary="Deliver a stuck effect again now (after fixing what failed)",
    roles=("admin",),
)
def retry_stuck(call: Call, item_id: str) -> StuckEffectOut:
    return StuckEffectOut.model_validate(service.retry_stuck(call.user, item_id))
