"""Routes: contact requests between accepted visitors and hosts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import BadRequest
from chalicelib.handlers.http import Api, Call, ListQuery, StrictModel, decode_cursor, encode_cursor
from chalicelib.services import contacts as service

api = Api(__name__, tag="contact-requests")


class NewContactRequest(StrictModel):
    to: str = Field(min_length=1, max_length=64, description="The recipient's registration id")
    message: str = Field(min_length=1, max_length=4000)


class Decline(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = None


class Accept(StrictModel):
    version: int | None = None


class BoxQuery(ListQuery):
    box: Literal["incoming", "outgoing"] = "incoming"


class PartySummary(BaseModel):
    registration_id: str | None = None
    organisation_name: str | None = None
    country: str | None = None
    roles: list[str] = []


class ContactRequestOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    id: str
    from_: str = Field(alias="from", description="The sender's registration id")
    to: str
    status: Literal["pending", "accepted", "declined"]
    message: str
    reason: str | None = None
    sender: PartySummary
    recipient: PartySummary
    created_at: str
    updated_at: str
    version: int


class ContactRequestList(BaseModel):
    items: list[ContactRequestOut]
    next_cursor: str | None = None


def _out(request: dict[str, Any]) -> ContactRequestOut:
    return ContactRequestOut.model_validate(request)


@api.route(
    "/v1/contact-requests",
    "POST",
    summary="Send a contact request to an accepted participant (visitor to host or back)",
    roles=("participant",),
    body=NewContactRequest,
    response=ContactRequestOut,
    status=201,
    errors=(404, 409, 422),
)
def create_contact_request(call: Call) -> ContactRequestOut:
    body: NewContactRequest = call.body
    return _out(service.send(call.user, body.to, body.message))


@api.route(
    "/v1/contact-requests",
    summary="Contact requests received (box=incoming) or sent (box=outgoing), newest first",
    roles=("participant",),
    query=BoxQuery,
    response=ContactRequestList,
)
def list_contact_requests(call: Call) -> ContactRequestList:
    query: BoxQuery = call.query
    after = decode_cursor(query.cursor)
    if after is not None and not isinstance(after, dict):
        raise BadRequest("The cursor is not valid.", code="INVALID_CURSOR")
    items, last = service.list_box(call.user, query.box, query.limit, after)
    return ContactRequestList(
        items=[_out(i) for i in items], next_cursor=encode_cursor(last) if last else None
    )


@api.route(
    "/v1/contact-requests/{request_id}/accept",
    "POST",
    summary="Accept a contact request (its recipient)",
    roles=("participant",),
    body=Accept,
    response=ContactRequestOut,
    errors=(404, 409),
)
def accept_contact_request(call: Call, request_id: str) -> ContactRequestOut:
    body: Accept = call.body
    return _out(service.accept(call.user, request_id, body.version))


@api.route(
    "/v1/contact-requests/{request_id}/decline",
    "POST",
    summary="Decline a contact request with a reason (its recipient)",
    roles=("participant",),
    body=Decline,
    response=ContactRequestOut,
    errors=(404, 409),
)
def decline_contact_request(call: Call, request_id: str) -> ContactRequestOut:
    body: Decline = call.body
    return _out(service.decline(call.user, request_id, body.reason, body.version))
