"""Routes: the programme's statistics and a partnership's. Shapes only: the use cases are in
services.statistics, what counts in rules.statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call
from chalicelib.lazy import lazy

# The service, typed for the checker; at run time imported on first use, so building the route table
# (every function imports app.py) loads none of it.
if TYPE_CHECKING:
    from chalicelib.services import statistics as service
else:
    service = lazy("chalicelib.services.statistics")

api = Api(__name__, tag="statistics")

_OMITTED = "; zero counts are left out"


class RegistrationFigures(ApiModel):
    by_status: dict[str, int] = Field(description="Every registration, by status" + _OMITTED)
    by_organisation_type: dict[str, int] = Field(
        description="Registrations not withdrawn, by organisation type" + _OMITTED
    )
    by_country: dict[str, int] = Field(
        description="Registrations not withdrawn, by the organisation's country" + _OMITTED
    )
    median_days_to_decision: float | None = Field(
        description="Median whole days from a registration to its partnership's decision; null: none decided"
    )


class ExchangeFigures(ApiModel):
    by_status: dict[str, int] = Field(description="Every exchange, by status" + _OMITTED)
    by_host_country: dict[str, int] = Field(description="Exchanges not cancelled, by host country" + _OMITTED)
    by_country_pair: dict[str, int] = Field(
        description="Exchanges not cancelled, by visitor's country and host country ('IT-DE')" + _OMITTED,
        examples=[{"IT-DE": 3}],
    )
    by_ecosystem: dict[str, int] = Field(
        description="Exchanges not cancelled, under each ecosystem both organisations work in (each either "
        "works in when they share none)" + _OMITTED
    )
    awaiting_signature: int = Field(description="Validated or signed: agreements waiting for signatures")
    amended_after_validation: int = Field(
        description="An extension granted, or an agreement generated again with changed content"
    )


class AmountFigure(ApiModel):
    count: int
    amount_eur: int


class PaymentFigures(ApiModel):
    paid: AmountFigure = Field(description="Lump sums paid")
    due: AmountFigure = Field(description="Lump sums computed, not paid yet (calculated, instructed, failed)")
    overdue: int = Field(description="Payments not paid and found past their due date")
    median_days_report_approval_to_payment: float | None = Field(
        description="Median whole days from the closing report's approval to the bank's execution; "
        "null: none paid"
    )


class StatisticsOut(ApiModel):
    scope: str = Field(description="'all' (the programme), or the partnership's id")
    registrations: RegistrationFigures = Field(description="A partnership's: those that chose it")
    exchanges: ExchangeFigures = Field(description="Each counted once, for its visitor's partnership")
    payments: PaymentFigures = Field(description="Lump sums, counted for the visitor's partnership (it pays)")
    updated_at: str | None = Field(description="When a counted change last moved these figures")


@api.route(
    "/v1/stats",
    summary="The programme's statistics: registrations, exchanges, lump sums (admin, support)",
    roles=("admin", "support"),
)
def programme_statistics(call: Call) -> StatisticsOut:
    return StatisticsOut.model_validate(service.for_programme(call.user))


@api.route(
    "/v1/partnerships/{partnership_id}/stats",
    summary="A partnership's statistics (its officers, admin, support)",
    roles=("partnership", "admin", "support"),
)
def partnership_statistics(call: Call, partnership_id: str) -> StatisticsOut:
    return StatisticsOut.model_validate(service.for_partnership(call.user, partnership_id))
