"""Data access for payments and the ledger. A payment's id is derived from its exchange's, so creating
it on condition that it does not exist makes one payment per exchange, ever."""

from __future__ import annotations

from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store import audit, batch, outbox, paging
from chalicelib.store.audit import AuditEntry
from chalicelib.store.models import PAYMENT_OPEN, LedgerModel, PaymentModel
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion, transaction

AUDIT_KIND = "payment"
_INDEXES = {"vop": PaymentModel.by_vop, "kind": PaymentModel.every}


def id_for(exchange_id: str) -> str:
    return "pay_" + exchange_id.removeprefix("exc_")


def to_document(model: PaymentModel) -> dict[str, Any]:
    return {
        "id": model.id,
        "exchange_id": model.exchange_id,
        "reference": model.reference,
        "vop": model.vop,
        "visitor_user": model.visitor_user,
        "status": model.status,
        "amount_eur": int(model.amount_eur),
        "breakdown": dict(model.breakdown or {}),
        "creditor": model.creditor,
        "due_by": model.due_by,
        "overdue_since": model.overdue_since,
        "reminded_at": model.reminded_at,
        "transfer_reference": model.transfer_reference,
        "transfer_key": model.transfer_key,
        "bank_reference": model.bank_reference,
        "paid_at": model.paid_at,
        "attempts": int(model.attempts or 0),
        "round": int(model.round or 1),
        "failure_reason": model.failure_reason,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "version": model.version,
    }


def document_from_image(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's raw DynamoDB-JSON image as a document."""
    return to_document(PaymentModel.from_raw_data(image))


def _to_model(doc: dict[str, Any]) -> PaymentModel:
    version = {"version": doc["version"]} if doc.get("version") is not None else {}
    return PaymentModel(
        id=doc["id"],
        exchange_id=doc["exchange_id"],
        reference=doc["reference"],
        vop=doc["vop"],
        visitor_user=doc.get("visitor_user"),
        status=str(doc["status"]),
        amount_eur=doc["amount_eur"],
        breakdown=doc["breakdown"],
        creditor=doc.get("creditor"),
        due_by=doc["due_by"],
        # Derived on every write, so the overdue check's sparse index can never hold a paid payment.
        open="open" if doc["status"] in PAYMENT_OPEN else None,
        overdue_since=doc.get("overdue_since"),
        reminded_at=doc.get("reminded_at"),
        transfer_reference=doc.get("transfer_reference"),
        transfer_key=doc.get("transfer_key"),
        bank_reference=doc.get("bank_reference"),
        paid_at=doc.get("paid_at"),
        attempts=doc.get("attempts") or 0,
        round=doc.get("round") or 1,
        failure_reason=doc.get("failure_reason"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        **version,
    )


def get(payment_id: str) -> dict[str, Any] | None:
    try:
        return to_document(PaymentModel.get(payment_id, consistent_read=True))
    except DoesNotExist:
        return None


class PaymentExists(Exception):
    """The exchange has its payment already."""


def subject(payment_id: str) -> str:
    """What the outbox calls a payment."""
    return f"{AUDIT_KIND}:{payment_id}"


def create(doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> dict[str, Any]:
    """Insert the exchange's one payment with its audit entry and what it causes; PaymentExists if it
    has one."""
    model = _to_model({**doc, "version": None})
    try:
        with transaction() as tx:
            tx.save(model, condition=PaymentModel.id.does_not_exist())
            tx.save(audit.to_model(entry))
            outbox.stage(tx, subject(doc["id"]), 1, effects)
    except StaleVersion:
        raise PaymentExists(doc["id"]) from None
    return to_document(model)


def replace(doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> dict[str, Any]:
    """Write the payment if still at `doc["version"]`, with its audit entry and what the change causes;
    StaleVersion otherwise."""
    staged = Staged(doc, entry, effects)
    with transaction() as tx:
        staged(tx)
    return staged.document()


class Staged:
    """A payment write (with its audit entry and effects, on condition of its version) for a
    transaction: called with it, it adds its items; `document()` is the payment as then stored."""

    def __init__(self, doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> None:
        self._model, self._entry, self._effects = _to_model(doc), entry, effects
        self._version = (doc.get("version") or 0) + 1

    def __call__(self, tx: Any) -> None:
        tx.save(self._model)
        tx.save(audit.to_model(self._entry))
        outbox.stage(tx, subject(self._model.id), self._version, self._effects)

    def document(self) -> dict[str, Any]:
        return to_document(self._model)


def book(ledger: dict[str, Any]) -> bool:
    """Book a transfer in the ledger once per payment; False if it is booked already."""
    try:
        LedgerModel(**ledger).save(condition=LedgerModel.payment_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def ledger_entry(payment_id: str) -> dict[str, Any] | None:
    try:
        return LedgerModel.get(payment_id, consistent_read=True).attribute_values
    except DoesNotExist:
        return None


def list_by(
    key: tuple[str, str],
    status: str | None,
    overdue: bool | None,
    limit: int,
    after: tuple[str, str] | None,
    today: date,
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of a partnership's (or every) payment, newest first; `after` is (created_at, id).
    Overdue on `today` means still open and due before it, so a payment leaves the overdue ones when
    it is paid, however late."""
    conditions = []
    if status:
        conditions.append(PaymentModel.status == status)
    if overdue is True:
        conditions.append(PaymentModel.open.exists() & (PaymentModel.due_by < today.isoformat()))
    elif overdue is False:
        conditions.append(PaymentModel.open.does_not_exist() | (PaymentModel.due_by >= today.isoformat()))
    filter_condition = None
    for c in conditions:
        filter_condition = c if filter_condition is None else filter_condition & c
    index_key, value = key
    query = _INDEXES[index_key].query(
        value,
        range_key_condition=PaymentModel.created_at <= after[0] if after else None,
        filter_condition=filter_condition,
        scan_index_forward=False,
        page_size=limit + 1,
    )
    page, next_after = paging.page_of(paging.after_cursor(query, after, limit), limit)
    return [to_document(m) for m in page], next_after


def overdue_candidates(day: date) -> list[str]:
    """Ids of payments not paid and not yet found overdue whose due date is before `day` (a Query of a
    sparse index: paid payments leave it, so it holds only the open ones; no Scan)."""
    return [
        m.id
        for m in PaymentModel.open_by_due.query(
            "open",
            range_key_condition=PaymentModel.due_by < day.isoformat(),
            filter_condition=PaymentModel.overdue_since.does_not_exist(),
        )
    ]


def with_ledger(payment_ids: list[str]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """These payments (those that exist), each with its ledger entry if it is booked: one strongly
    consistent BatchGetItem across the two tables (the owner's export)."""
    if not payment_ids:
        return []
    found = batch.get_items({PaymentModel: payment_ids, LedgerModel: payment_ids})
    payments, ledger = found[PaymentModel], found[LedgerModel]
    return [
        (to_document(payments[i]), ledger[i].attribute_values if i in ledger else None)
        for i in payment_ids
        if i in payments
    ]


BATCH_KEYS = 100  # the most keys one BatchGetItem takes


def get_many(payment_ids: list[str]) -> dict[str, dict[str, Any]]:
    """These payments (those that exist), by id: one BatchGetItem per hundred (an export's)."""
    wanted = sorted(set(payment_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), BATCH_KEYS):
        chunk = wanted[start : start + BATCH_KEYS]
        for key, model in batch.get_items({PaymentModel: chunk})[PaymentModel].items():
            found[key] = to_document(model)
    return found
