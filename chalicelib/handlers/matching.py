"""Routes: the catalogue of accepted participants and the caller's best matches."""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, Day, ListQuery, text
from chalicelib.lazy import lazy
from chalicelib.rules.matching.query import CatalogueQuery

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import catalogue as service
else:
    service = lazy("chalicelib.services.catalogue")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="matching")


class CardOrganisation(ApiModel):
    name: str | None = None
    type: str | None = None
    country: str | None = None
    city: str | None = None
    website: str | None = None
    cluster_name: str | None = None
    ecosystems: list[str] = []
    description: str | None = None
    expertise: list[str] = []


class CardRepresentative(ApiModel):
    first_name: str | None = None
    last_name: str | None = None


class CardPreferences(ApiModel):
    countries: list[str] = []
    ecosystems: list[str] = []
    organisation_types: list[str] = []
    objectives: list[str] = []
    available_from: str | None = None
    available_to: str | None = None
    virtual_ok: bool | None = None


class CardHosting(ApiModel):
    capacity: int | None = None
    offer: str | None = None


class CatalogueCard(ApiModel):
    """A participant as others see them: no personal data beyond the representative's name."""

    id: str
    roles: list[str]
    partnership_id: str | None = None
    organisation: CardOrganisation
    representative: CardRepresentative
    languages: list[str] = []
    preferences: CardPreferences
    hosting: CardHosting | None = None


class MatchOut(ApiModel):
    registration: CatalogueCard
    score: float = Field(ge=0, le=1)
    reasons: list[str]


class MatchList(ApiModel):
    items: list[MatchOut]
    next_cursor: str | None = None


class CataloguePage(ApiModel):
    items: list[CatalogueCard]
    next_cursor: str | None = None


class MatchesQuery(ListQuery):
    role: Literal["host", "visitor"] | None = Field(
        None, description="Only counterparts of this role (for participants registered as both)"
    )


class CatalogueFilters(ListQuery):
    role: Literal["host", "visitor"] | None = None
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    ecosystem: text(64) | None = None  # type: ignore[valid-type]
    type: text(64) | None = Field(None, description="Organisation type")  # type: ignore[valid-type]
    language: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    q: text(100) | None = Field(None, description="Free text: name, description, expertise")  # type: ignore[valid-type]
    # A window that ends before it starts is the availability rule's 422, as in a registration.
    available_from: Day | None = None
    available_to: Day | None = None


def _card(card: dict[str, Any]) -> CatalogueCard:
    return CatalogueCard.model_validate(card)


@api.route(
    "/v1/matches",
    summary="The caller's best counterparts, best first, with a score and reasons, paginated with a cursor",
    roles=("participant",),
)
def list_matches(call: Call, query: MatchesQuery) -> MatchList:
    matches, next_cursor = service.matches_page(call.user, query.limit, query.role, query.cursor)
    return MatchList(
        items=[MatchOut(registration=_card(m.card), score=m.score, reasons=list(m.reasons)) for m in matches],
        next_cursor=next_cursor,
    )


@api.route(
    "/v1/catalogue",
    summary="Accepted participants as catalogue cards, filtered, paginated with a cursor",
    roles=("participant",),
)
def list_catalogue(call: Call, query: CatalogueFilters) -> CataloguePage:
    filters = CatalogueQuery(
        role=query.role,
        country=query.country.upper() if query.country else None,
        ecosystem=query.ecosystem,
        organisation_type=query.type,
        language=query.language.lower() if query.language else None,
        q=query.q,
        available_from=query.available_from,
        available_to=query.available_to,
    )
    cards, next_cursor = service.catalogue_page(call.user, filters, query.limit, query.cursor)
    return CataloguePage(items=[_card(c) for c in cards], next_cursor=next_cursor)
