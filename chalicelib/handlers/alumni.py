"""Routes: the alumni directory and the caller's entry in it (opt-in, opt-out)."""

from typing import TYPE_CHECKING, Literal

from chalice import Response
from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, ListQuery, Versioned, text
from chalicelib.handlers.registrations import Email
from chalicelib.lazy import lazy

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import alumni as service
else:
    service = lazy("chalicelib.services.alumni")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text(), a call the
# checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="alumni")


class AlumniIn(Versioned):
    public_contact: Email | None = Field(
        None, description="An e-mail address the alumnus chooses to show in the directory (none: no contact)"
    )


class DirectoryQuery(ListQuery):
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$", description="The organisation's country")
    ecosystem: text(64) | None = None  # type: ignore[valid-type]


class CompletedExchangeOut(ApiModel):
    year: int = Field(description="The year of the stay")
    host_country: str | None = None
    role: Literal["visitor", "host"] = Field(description="The organisation's part in the exchange")


class AlumniEntryOut(ApiModel):
    """An organisation in the alumni directory: no personal data but the contact it chose to show."""

    id: str
    organisation_name: str | None = None
    country: str | None = None
    ecosystems: list[str] = []
    exchanges: list[CompletedExchangeOut] = Field(description="Its completed exchanges, oldest first")
    public_contact: str | None = None
    created_at: str
    updated_at: str
    version: int


class AlumniPage(ApiModel):
    items: list[AlumniEntryOut]
    next_cursor: str | None = None


@api.route(
    "/v1/alumni",
    summary="The alumni directory, by country and organisation name (accepted participants, "
    "partnerships, support, admin), paginated with a cursor",
    roles=("participant", "partnership", "support", "admin"),
)
def list_alumni(call: Call, query: DirectoryQuery) -> AlumniPage:
    country = query.country.upper() if query.country else None
    items, next_cursor = service.directory(call.user, country, query.ecosystem, query.limit, query.cursor)
    return AlumniPage(items=[AlumniEntryOut.model_validate(i) for i in items], next_cursor=next_cursor)


@api.route("/v1/me/alumni", summary="The caller's entry in the alumni directory", roles=("participant",))
def get_my_alumni_entry(call: Call) -> AlumniEntryOut:
    return AlumniEntryOut.model_validate(service.my_entry(call.user))


@api.route(
    "/v1/me/alumni",
    "PUT",
    summary="Join the alumni directory, or change the contact shown (participants of a completed exchange)",
    roles=("participant",),
)
def put_my_alumni_entry(call: Call, body: AlumniIn) -> AlumniEntryOut:
    return AlumniEntryOut.model_validate(service.join(call.user, body.public_contact, body.version))


@api.route(
    "/v1/me/alumni",
    "DELETE",
    summary="Leave the alumni directory: the entry is removed at once",
    roles=("participant",),
    status=204,
)
def delete_my_alumni_entry(call: Call) -> Response:
    service.leave(call.user)
    return Response(body="", status_code=204)
