"""Public routes: health, reference lists, partnerships."""

from datetime import date
from typing import TYPE_CHECKING

from pydantic import Field

from chalicelib import clock
from chalicelib.handlers.http import Api, ApiModel, Call
from chalicelib.lazy import lazy

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import reference as service
else:
    service = lazy("chalicelib.services.reference")

api = Api(__name__, tag="reference")


class Health(ApiModel):
    status: str
    business_date: date = Field(description="What 'today' is for the programme's rules (movable locally)")


class CountryOut(ApiModel):
    code: str
    name: str
    eligible: bool
    lump_sum_eur: int | None


class EcosystemOut(ApiModel):
    code: str
    name: str


class OrganisationTypeOut(ApiModel):
    code: str
    name: str
    may_visit: bool
    may_host: bool


class PartnershipOut(ApiModel):
    id: str
    name: str
    ecosystems: list[str]
    countries: list[str]


class CountryList(ApiModel):
    items: list[CountryOut]
    next_cursor: str | None = None


class EcosystemList(ApiModel):
    items: list[EcosystemOut]
    next_cursor: str | None = None


class OrganisationTypeList(ApiModel):
    items: list[OrganisationTypeOut]
    next_cursor: str | None = None


class PartnershipList(ApiModel):
    items: list[PartnershipOut]
    next_cursor: str | None = None


@api.route("/v1/health", summary="Liveness check", public=True)
def health(call: Call) -> Health:
    return Health(status="ok", business_date=clock.today())


@api.route(
    "/v1/reference/countries",
    summary="Countries, whether they take part, and the lump sum for a stay there",
    public=True,
)
def list_countries(call: Call) -> CountryList:
    return CountryList(
        items=[
            CountryOut(code=c.code, name=c.name, eligible=c.eligible, lump_sum_eur=c.lump_sum_eur)
            for c in service.countries()
        ]
    )


@api.route("/v1/reference/ecosystems", summary="Industrial ecosystems", public=True)
def list_ecosystems(call: Call) -> EcosystemList:
    return EcosystemList(items=[EcosystemOut(code=code, name=name) for code, name in service.ecosystems()])


@api.route(
    "/v1/reference/organisation-types",
    summary="Organisation types and whether each may visit or host",
    public=True,
)
def list_organisation_types(call: Call) -> OrganisationTypeList:
    return OrganisationTypeList(
        items=[
            OrganisationTypeOut(code=t.code, name=t.name, may_visit=t.may_visit, may_host=t.may_host)
            for t in service.organisation_types()
        ]
    )


@api.route("/v1/partnerships", summary="The partnerships", public=True)
def list_partnerships(call: Call) -> PartnershipList:
    return PartnershipList(
        items=[
            PartnershipOut(id=p.id, name=p.name, ecosystems=list(p.ecosystems), countries=list(p.countries))
            for p in service.partnerships()
        ]
    )
