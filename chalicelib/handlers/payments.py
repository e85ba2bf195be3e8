"""Routes: an exchange's payment, and finance's payments (list, transfer file, confirm, retry). Shapes
only: the use cases are in services.payments."""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, Day, ListQuery, Versioned, text
from chalicelib.lazy import lazy
from chalicelib.rules.payment import PaymentStatus

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import payments as service
else:
    service = lazy("chalicelib.services.payments")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="payments")


class ReductionOut(ApiModel):
    code: Literal["SHORT_STAY", "NEARBY", "VIRTUAL", "CEILING"]
    reason: str


class BreakdownOut(ApiModel):
    table_version: str
    host_country: str
    rate_eur: int
    ceiling_eur: int
    working_days: int
    distance_km: float
    reductions: list[ReductionOut]
    amount_eur: int


class PaymentOut(ApiModel):
    id: str
    exchange_id: str
    reference: str = Field(description="The exchange's reference")
    amount_eur: int
    breakdown: BreakdownOut
    status: PaymentStatus
    due_by: str
    overdue: bool
    reminded_at: str | None = Field(None, description="The day finance was told it is overdue")
    paid_at: str | None = None
    bank_reference: str | None = None
    transfer_reference: str | None = None
    failure_reason: str | None = None
    attempts: int
    created_at: str
    updated_at: str
    version: int


class PaymentList(ApiModel):
    items: list[PaymentOut]
    next_cursor: str | None = None


class PaymentQuery(ListQuery):
    status: PaymentStatus | None = None
    overdue: bool | None = None


class TransferFile(ApiModel):
    url: str
    expires_in: int
    transfer_reference: str


class ConfirmIn(Versioned):
    bank_reference: text(100)  # type: ignore[valid-type]
    paid_at: Day = Field(description="The day the bank executed the transfer")


class RetryIn(Versioned):
    """Nothing but, optionally, the version read."""


def _out(payment: dict[str, Any]) -> PaymentOut:
    return PaymentOut.model_validate(payment)


@api.route(
    "/v1/exchanges/{exchange_id}/payment",
    summary="The exchange's lump sum: amount, breakdown, status (VO, VOP, finance, admin)",
)
def exchange_payment(call: Call, exchange_id: str) -> PaymentOut:
    return _out(service.for_exchange(call.user, exchange_id))


@api.route(
    "/v1/payments",
    summary="Payments, newest first (finance: its partnership's when its token names one; admin: all)",
    roles=("finance", "admin"),
)
def list_payments(call: Call, query: PaymentQuery) -> PaymentList:
    status = str(query.status) if query.status else None
    items, next_cursor = service.list_for(call.user, status, query.overdue, query.limit, query.cursor)
    return PaymentList(items=[_out(p) for p in items], next_cursor=next_cursor)


@api.route(
    "/v1/payments/{payment_id}/transfer-file",
    summary="A short-lived link to the payment's SEPA credit transfer file (pain.001)",
    roles=("finance", "admin"),
)
def payment_transfer_file(call: Call, payment_id: str) -> TransferFile:
    return TransferFile.model_validate(service.transfer_file(call.user, payment_id))


@api.route(
    "/v1/payments/{payment_id}/confirm",
    "POST",
    summary="Record the bank's execution of the transfer (finance): the payment and the exchange are paid",
    roles=("finance",),
)
def confirm_payment(call: Call, payment_id: str, body: ConfirmIn) -> PaymentOut:
    return _out(
        service.confirm(call.user, payment_id, body.bank_reference, body.paid_at.isoformat(), body.version)
    )


@api.route(
    "/v1/payments/{payment_id}/retry",
    "POST",
    summary="Queue a failed payment again (finance)",
    roles=("finance",),
)
def retry_payment(call: Call, payment_id: str, body: RetryIn) -> PaymentOut:
    return _out(service.retry(call.user, payment_id, body.version))
