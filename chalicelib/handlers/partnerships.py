"""Admin routes that manage the partnerships: create, read with the private fields, edit. The public
list is in handlers.reference. Shapes only: the use cases are in services.partnerships."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, StrictModel, Versioned, omittable
from chalicelib.handlers.registrations import Code, Email, Name
from chalicelib.lazy import lazy
from chalicelib.rules.partnership import PartnershipDraft

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import partnerships as service
else:
    service = lazy("chalicelib.services.partnerships")

api = Api(__name__, tag="partnerships")

# Whether an ecosystem or country is known, and whether the account is valid, are rules (422 naming
# them); this layer answers for shape and type only (400).
_MAX_CONTACT_POINTS = 20


class PartnershipContactPointAdmin(StrictModel):
    name: Name
    email: Email


class PartnershipDebtorAccountAdmin(StrictModel):
    holder: Name = Field(description="The account holder's name, as the bank knows it")
    iban: Code = Field(description="Checked like any IBAN (length, format, check digits)")
    bic: Code = Field(description="8 or 11 characters, of the IBAN's country")


class PartnershipAdminIn(StrictModel):
    id: Code = Field(description="Lower-case words joined by '-', e.g. medic-nest; never changes")
    name: Name
    ecosystems: list[Code] = Field(max_length=20)
    countries: list[Code] = Field(max_length=60, description="Member countries, ISO 3166-1 alpha-2")
    contact_points: list[PartnershipContactPointAdmin] = Field(
        max_length=_MAX_CONTACT_POINTS, description="Officers; the first one is mailed"
    )
    debtor_account: PartnershipDebtorAccountAdmin = Field(description="What the lump sums are paid from")
    finance_email: Email = Field(description="Who answers for the partnership's transfers")


class PartnershipAdminPatch(Versioned):
    """Fields left out stay as they are."""

    name: Name = omittable()
    ecosystems: list[Code] = omittable(max_length=20)
    countries: list[Code] = omittable(max_length=60)
    contact_points: list[PartnershipContactPointAdmin] = omittable(max_length=_MAX_CONTACT_POINTS)
    debtor_account: PartnershipDebtorAccountAdmin = omittable()
    finance_email: Email = omittable()


class PartnershipDebtorAccountAdminOut(ApiModel):
    holder: str
    iban: str
    bic: str


class PartnershipContactPointAdminOut(ApiModel):
    name: str
    email: str


class PartnershipAdminOut(ApiModel):
    id: str
    name: str
    ecosystems: list[str]
    countries: list[str]
    contact_points: list[PartnershipContactPointAdminOut]
    debtor_account: PartnershipDebtorAccountAdminOut | None = Field(
        description="None only for a partnership stored before accounts were kept: it cannot pay yet"
    )
    finance_email: str | None
    version: int
    created_at: str
    updated_at: str


def _fields(body: PartnershipAdminIn | PartnershipAdminPatch) -> dict[str, Any]:
    """The body's fields as the service's draft holds them (tuples, contact points, the account)."""
    sent = body.model_dump(exclude_unset=True, exclude={"version"})
    fields: dict[str, Any] = {}
    for name, value in sent.items():
        if name in ("ecosystems", "countries"):
            fields[name] = tuple(value)
        elif name == "contact_points":
            fields[name] = service.contact_points(value)
        else:
            fields[name] = value
    return fields


@api.route("/v1/partnerships", "POST", summary="Create a partnership", roles=("admin",), status=201)
def create_partnership(call: Call, body: PartnershipAdminIn) -> PartnershipAdminOut:
    return PartnershipAdminOut.model_validate(service.create(call.user, PartnershipDraft(**_fields(body))))


@api.route(
    "/v1/partnerships/{partnership_id}",
    summary="A partnership with its private fields (debtor account, finance contact)",
    roles=("admin",),
)
def get_partnership(call: Call, partnership_id: str) -> PartnershipAdminOut:
    return PartnershipAdminOut.model_validate(service.get(call.user, partnership_id))


@api.route(
    "/v1/partnerships/{partnership_id}",
    "PATCH",
    summary="Edit a partnership (fields left out stay as they are)",
    roles=("admin",),
)
def edit_partnership(call: Call, partnership_id: str, body: PartnershipAdminPatch) -> PartnershipAdminOut:
    return PartnershipAdminOut.model_validate(
        service.edit(call.user, partnership_id, _fields(body), body.version)
    )
