"""Routes: contact requests between accepted visitors and hosts."""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from chalicelib.handlers.http import Api, ApiModel, Call, ListQuery, StrictModel, Versioned, text
from chalicelib.lazy import lazy
from chalicelib.rules.contact_request import ContactRequestStatus

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import contacts as service
else:
    service = lazy("chalicelib.services.contacts")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="contact-requests")


class NewContactRequest(StrictModel):
    to: str = Field(pattern=r"^reg_[0-9a-f]{32}$", description="The recipient's registration id")
    message: text(4000)  # type: ignore[valid-type]


class Decline(Versioned):
    reason: text(2000)  # type: ignore[valid-type]


class Accept(Versioned):
    """Accepting needs nothing but, optionally, the version read."""


class BoxQuery(ListQuery):
    box: Literal["incoming", "outgoing"] = "incoming"


class PartySummary(ApiModel):
    registration_id: str | None = None
    organisation_name: str | None = None
    country: str | None = None
    roles: list[str] = []


class ContactRequestOut(ApiModel):
    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    id: str
    from_: str = Field(alias="from", description="The sender's registration id")
    to: str
    status: ContactRequestStatus
    message: str
    reason: str | None = None
    sender: PartySummary
    recipient: PartySummary
    created_at: str
    updated_at: str
    version: int


class ContactRequestList(ApiModel):
    items: list[ContactRequestOut]
    next_cursor: str | None = None


def _out(request: dict[str, Any]) -> ContactRequestOut:
    return ContactRequestOut.model_validate(request)


@api.route(
    "/v1/contact-requests",
    "POST",
    summary="Send a contact request to an accepted participant (visitor to host or back)",
    roles=("participant",),
    status=201,
)
def create_contact_request(call: Call, body: NewContactRequest) -> ContactRequestOut:
    return _out(service.send(call.user, body.to, body.message))


@api.route(
    "/v1/contact-requests",
    summary="Contact requests received (box=incoming) or sent (box=outgoing), newest first",
    roles=("participant",),
)
def list_contact_requests(call: Call, query: BoxQuery) -> ContactRequestList:
    items, next_cursor = service.list_box(call.user, query.box, query.limit, query.cursor)
    return ContactRequestList(items=[_out(i) for i in items], next_cursor=next_cursor)


@api.route(
    "/v1/contact-requests/{request_id}/accept",
    "POST",
    summary="Accept a contact request (its recipient)",
    roles=("participant",),
)
def accept_contact_request(call: Call, request_id: str, body: Accept) -> ContactRequestOut:
    return _out(service.accept(call.user, request_id, body.version))


@api.route(
    "/v1/contact-requests/{request_id}/decline",
    "POST",
    summary="Decline a contact request with a reason (its recipient)",
    roles=("participant",),
)
def decline_contact_request(call: Call, request_id: str, body: Decline) -> ContactRequestOut:
    return _out(service.decline(call.user, request_id, body.reason, body.version))
