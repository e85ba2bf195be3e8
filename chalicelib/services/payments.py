"""The lump sum's payment (API.md "Exchanges" and "Support, finance, statistics"): computed when the
closing report is approved (the exchanges stream), instructed once by the finance function through the
payment gateway port (chalicelib.ports; in production a SEPA credit transfer file), booked in the
ledger, confirmed paid by finance; failed after the bounded retries (the dead-letter function) and
re-queued by finance; found overdue by the scheduled function.

Exactly once: the payment's id is derived from the exchange's and created on condition it does not
exist; the finance function runs under Powertools idempotency keyed by the payment id, books the
transfer with a conditional put on the payment id, and moves the payment only from `calculated`; the
transfer file's key and bytes depend only on the payment, so a replay writes the same file or none.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from functools import cache
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors, notifications, ports, reference
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.observability import logger, metrics
from chalicelib.payments.gateway import transfer_reference
from chalicelib.rules import RuleViolation
from chalicelib.rules.agreed import AgreedFacts
from chalicelib.rules.exchange_flow import ExchangeStatus, Party
from chalicelib.rules.exchange_model import Act, Exchange
from chalicelib.rules.lump_sum import PAYMENT_DAYS, compute_lump_sum
from chalicelib.rules.payment import FINANCE, LIFECYCLE, OPEN, SYSTEM, PaymentStatus
from chalicelib.services import exchange_mail, exchanges
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import check_version, optimistic
from chalicelib.settings import get_settings
from chalicelib.store import audit, files, queues
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import payments as store
from chalicelib.store.outbox import Effect, Item
from chalicelib.store.writes import StaleVersion

_WHAT = "The payment"
CALCULATOR = "system:lump-sum"
FINANCE_FUNCTION = "system:finance"
TRANSFER_LINK_SECONDS = 300


class ListCursor(cursors.CursorKey):
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^pay_[0-9a-f]{32}$")


# --- computed when the report is approved (the exchanges stream) --------------------------------------


def _entry(payment: dict[str, Any], action: str, actor: str, roles: Any, before: str | None) -> Any:
    return audit.entry(
        store.AUDIT_KIND,
        payment["id"],
        f"payment.{action}",
        actor=actor,
        roles=roles,
        at=payment["updated_at"],
        from_status=before,
        to_status=payment["status"],
    )


QUEUE_INSTRUCTION, TELL_INSTRUCTED, TELL_OVERDUE = "queue_instruction", "tell_instructed", "tell_overdue"


def deliver_settlement(item: Item) -> None:
    """The `settle_lump_sum` effect of the report's approval."""
    doc = exchange_store.get(item.subject_id)
    if doc is not None and doc["status"] == ExchangeStatus.REPORT_APPROVED:
        settle_lump_sum(doc)


def settle_lump_sum(doc: dict[str, Any]) -> dict[str, Any]:
    """The exchange's one payment: created with its computed amount if it has none (a redelivery finds
    it), its first instruction queued with it (an effect of the creation), and the exchange closed when
    nothing is to pay."""
    payment = store.get(store.id_for(doc["id"]))
    if payment is None:
        payment = _create(doc)
    if payment["status"] == PaymentStatus.NOTHING_TO_PAY:
        _close(doc["id"])
    return payment


def _instruction(payment: dict[str, Any]) -> Effect:
    return Effect(QUEUE_INSTRUCTION, {"round": payment.get("round") or 1})


def deliver_instruction(item: Item) -> None:
    """The `queue_instruction` effect: the finance function is asked for the payment's current round, as
    long as it still waits for it. Sent again after a lost answer, it is the same message: the finance
    function does a round once however often it is asked."""
    payment = store.get(item.subject_id)
    if payment is None or payment["status"] != PaymentStatus.CALCULATED:
        return
    if payment["round"] != item.args.get("round"):
        return  # an older round's message: a later one was queued
    queues.send(queues.PAYMENTS, {"payment_id": payment["id"], "round": payment["round"]})


def _create(doc: dict[str, Any]) -> dict[str, Any]:
    try:
        # Only what was agreed and signed: the registrations as they are now may say another city.
        facts = AgreedFacts.from_dict(doc.get("agreed")).lump_sum_facts()
        lump_sum = compute_lump_sum(facts, reference.lump_sum_tables())
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation
    approved = (doc.get("report") or {}).get("decided_at") or doc["updated_at"]
    now = clock.now_iso()
    payment = {
        "id": store.id_for(doc["id"]),
        "exchange_id": doc["id"],
        "reference": doc["reference"],
        "vop": doc["vop"],
        "visitor_user": doc["visitor_user"],
        "status": PaymentStatus.CALCULATED if lump_sum.amount_eur else PaymentStatus.NOTHING_TO_PAY,
        "amount_eur": lump_sum.amount_eur,
        "breakdown": lump_sum.breakdown(),
        "creditor": doc.get("bank_account") if lump_sum.amount_eur else None,
        "due_by": (date.fromisoformat(approved[:10]) + timedelta(days=PAYMENT_DAYS)).isoformat(),
        "created_at": now,
        "updated_at": now,
        "version": None,
    }
    effects = (_instruction(payment),) if payment["status"] == PaymentStatus.CALCULATED else ()
    try:
        created = store.create(payment, _entry(payment, "calculated", CALCULATOR, None, None), effects)
    except store.PaymentExists:
        return store.get(payment["id"]) or payment
    logger.info(
        "lump sum computed",
        extra={"payment_id": payment["id"], "amount_eur": lump_sum.amount_eur, "status": payment["status"]},
    )
    return created


def _close(exchange_id: str) -> None:
    def attempt() -> None:
        doc = exchange_store.get(exchange_id)
        if doc is None or doc["status"] != ExchangeStatus.REPORT_APPROVED:
            return  # closed already
        exchanges.system_act(doc, "close", Party.SCHEDULER, CALCULATOR)

    optimistic(attempt, "The exchange")


# --- instructed by the finance function (the payments queue) ------------------------------------------


@cache
def _idempotency_config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    # Keyed by the round too: finance's retry is a new round, never answered from an old round's record.
    return IdempotencyConfig(event_key_jmespath="[payment_id, round]", raise_on_no_idempotency_key=True)


def register_invocation(context: Any) -> None:
    """Give idempotency the invocation's remaining time: an attempt cut short by the function's timeout
    then stops blocking its retries when that time is up, instead of for the records' whole life."""
    if context is not None:
        _idempotency_config().register_lambda_context(context)


@cache
def _idempotent_instruct(dynamodb: Any) -> Any:
    """`_instruct` under Powertools idempotency (DynamoDB persistence), built on first use with the
    container's DynamoDB client (keyed by it: a new emulator in tests gets its own), not at import."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().table_name("idempotency"), boto3_client=dynamodb
    )
    return idempotent_function(
        data_keyword_argument="instruction", persistence_store=persistence, config=_idempotency_config()
    )(_instruct)


def handle_instruction(instruction: dict[str, Any]) -> dict[str, Any]:
    """One message of the payments queue."""
    from chalicelib.store.aws import client

    run = _idempotent_instruct(client("dynamodb"))
    key = {"payment_id": instruction["payment_id"], "round": int(instruction.get("round") or 1)}
    result: dict[str, Any] = run(instruction=key)
    return result


def _instruct(instruction: dict[str, Any]) -> dict[str, Any]:
    payment_id = instruction["payment_id"]
    payment = store.get(payment_id)
    if (
        payment is None
        or payment["status"] != PaymentStatus.CALCULATED
        or payment["round"] != instruction["round"]
    ):
        return {"payment_id": payment_id, "status": payment["status"] if payment else None}
    booked = store.ledger_entry(payment_id)
    if booked is None:
        # Read from the table, not a container's cached list: an account an admin replaced is never paid from.
        partnership = reference_service.partnership(payment["vop"], fresh=True)
        if partnership is None or partnership.debtor_account is None:
            raise RuntimeError(f"no account to pay from for partnership {payment['vop']}")
        try:
            key = ports.current().gateway.send(payment, partnership.debtor_account)
        except Exception as exc:
            _note_failure(payment_id, f"{type(exc).__name__}: {exc}")
            raise
        ledger = {
            "payment_id": payment_id,
            "transfer_reference": transfer_reference(payment),
            "exchange_reference": payment["reference"],
            "amount_eur": payment["amount_eur"],
            "debtor_iban": partnership.debtor_account.iban,
            "creditor_iban": payment["creditor"]["iban"],
            "transfer_key": key,
            "booked_at": clock.now_iso(),
        }
        # False: a concurrent delivery booked it first, with the same reference and file.
        booked = ledger if store.book(ledger) else (store.ledger_entry(payment_id) or ledger)
    instructed = _move_system(payment_id, "instruct", instruction["round"], booked)
    return {"payment_id": payment_id, "status": instructed["status"]}


def _note_failure(payment_id: str, reason: str) -> None:
    def attempt() -> None:
        payment = store.get(payment_id)
        if payment is None or payment["status"] != PaymentStatus.CALCULATED:
            return
        now = clock.now_iso()
        updated = {
            **payment,
            "attempts": payment["attempts"] + 1,
            "failure_reason": reason[:500],
            "updated_at": now,
        }
        store.replace(updated, _entry(updated, "attempt_failed", FINANCE_FUNCTION, None, payment["status"]))

    optimistic(attempt, _WHAT)
    logger.warning("payment attempt failed", extra={"payment_id": payment_id})


def _move_system(
    payment_id: str, action: str, round_: int, booked: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A step the functions take on a round (instruct, fail); a payment already past it, or in a later
    round, is left as it is. Its instruction's notice is written with it."""

    def attempt() -> dict[str, Any]:
        payment = store.get(payment_id)
        if payment is None:
            raise NotFound("No such payment.")
        if payment["status"] != PaymentStatus.CALCULATED or payment["round"] != round_:
            return payment  # instructed or failed already (a replay), or retried since: nothing more
        before = payment["status"]
        updated = copy.deepcopy(payment)
        updated["status"] = LIFECYCLE.check(PaymentStatus(before), action, {SYSTEM})
        updated["updated_at"] = clock.now_iso()
        if booked is not None:
            updated["transfer_reference"] = booked["transfer_reference"]
            updated["transfer_key"] = booked["transfer_key"]
        effects = (Effect(TELL_INSTRUCTED),) if action == "instruct" else ()
        return store.replace(updated, _entry(updated, action, FINANCE_FUNCTION, None, before), effects)

    return optimistic(attempt, _WHAT)


def deliver_instructed_notice(item: Item) -> None:
    """The `tell_instructed` effect: the VO and the VOP learn the lump sum is on its way."""
    payment = store.get(item.subject_id)
    doc = exchange_store.get(payment["exchange_id"]) if payment else None
    if payment is None or doc is None:
        return
    exchange_mail.tell(
        doc,
        (Party.VO, Party.VOP),
        "payment_instructed",
        {"payment": _view(payment)},
        f"payment#{payment['id']}",
    )


def _view(payment: dict[str, Any]) -> dict[str, Any]:
    """What a message about a payment shows of it."""
    keys = ("id", "reference", "amount_eur", "transfer_reference", "due_by", "status")
    return {key: payment.get(key) for key in keys}


def handle_dead_letter(instruction: dict[str, Any]) -> None:
    """An instruction that failed every attempt: the payment is failed, with the last reason, for
    finance to see and retry."""
    saved = _move_system(instruction["payment_id"], "fail", int(instruction.get("round") or 1))
    logger.error("payment failed", extra={"payment_id": saved["id"], "status": saved["status"]})


# --- finance: confirm, retry; reads ---------------------------------------------------------------


def _finance_scope(principal: Principal) -> str | None:
    """The partnership a finance user's token names (it sees that partnership's payments), or None
    for a finance user without one and for admin (all)."""
    if principal.has_role("admin"):
        return None
    if not principal.has_role(FINANCE):
        raise Forbidden("Payments are for finance and admin.")
    return principal.partnership_id or None


def _load_for_finance(principal: Principal, payment_id: str) -> dict[str, Any]:
    scope = _finance_scope(principal)
    payment = store.get(payment_id) if payment_id.startswith("pay_") else None
    if payment is None or (scope is not None and payment["vop"] != scope):
        raise NotFound("No such payment.")
    return payment


def _finance_act(
    principal: Principal, payment_id: str, action: str, version: int | None
) -> tuple[dict[str, Any], str]:
    """The payment as read, checked for a finance clerk's `action`, with its new status (not yet
    written), and the status it had."""
    payment = _load_for_finance(principal, payment_id)
    check_version(version, payment, view(payment), _WHAT)
    if not principal.has_role(FINANCE):
        raise Forbidden("Only finance records payments.")
    status = LIFECYCLE.check(PaymentStatus(payment["status"]), action, {FINANCE})
    return {**copy.deepcopy(payment), "status": status, "updated_at": clock.now_iso()}, payment["status"]


def _stale(payment_id: str, version: int | None, read: dict[str, Any]) -> Exception:
    """What a lost race answers: 409 with the payment as it is now when the caller sent a version (else
    the race is retried from a fresh read)."""
    if version is None:
        return StaleVersion(payment_id)
    return version_conflict(view(store.get(payment_id) or read), _WHAT)


def confirm(
    principal: Principal, payment_id: str, bank_reference: str, paid_at: str, version: int | None
) -> dict[str, Any]:
    """Finance records the bank's execution: the payment and the exchange are paid, in one transaction
    (three calls: the payment, the exchange, the write)."""

    def attempt() -> dict[str, Any]:
        payment, before = _finance_act(principal, payment_id, "confirm", version)
        if paid_at[:10] < payment["created_at"][:10] or paid_at[:10] > clock.today().isoformat():
            raise RuleBroken(
                "The payment date is between the payment's computation and today.", code="INVALID_PAID_AT"
            )
        updated = {**payment, "bank_reference": bank_reference, "paid_at": paid_at}
        staged = store.Staged(updated, _entry(updated, "confirm", principal.user_id, principal.roles, before))
        doc = exchange_store.get(payment["exchange_id"])
        if doc is None:
            raise NotFound("No such exchange.")
        # All the caller is to the exchange: a clerk who is also its VO does not confirm its own lump sum.
        found = exchanges.parties(principal, doc)
        try:
            taken = Act(
                "confirm_payment", frozenset(found), principal.user_id, clock.now_iso(), roles=principal.roles
            )
            exchanges.commit(Exchange.from_document(doc), taken, along=staged)
        except StaleVersion:
            raise _stale(payment_id, version, payment) from None
        return view(staged.document())

    return optimistic(attempt, _WHAT)


def retry(principal: Principal, payment_id: str, version: int | None) -> dict[str, Any]:
    """Finance puts a failed payment back on the queue (after fixing what failed)."""

    def attempt() -> dict[str, Any]:
        payment, before = _finance_act(principal, payment_id, "retry", version)
        # A new round: its instruction is queued by the outbox, written with the payment's change.
        updated = {**payment, "failure_reason": None, "round": payment["round"] + 1}
        entry = _entry(updated, "retry", principal.user_id, principal.roles, before)
        try:
            return store.replace(updated, entry, (_instruction(updated),))
        except StaleVersion:
            raise _stale(payment_id, version, payment) from None

    return view(optimistic(attempt, _WHAT))


def view(payment: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in payment.items() if k not in ("creditor", "transfer_key", "vop", "visitor_user")}
    # Worked out on each read rather than stored: a flag set when it fell due outlived the payment.
    shown["overdue"] = payment["status"] in OPEN and payment["due_by"] < clock.today().isoformat()
    return shown


def _may_see(principal: Principal, parties: set[str], vop: str) -> bool:
    if principal.partnership_id and principal.partnership_id != vop:
        parties = parties - {Party.FINANCE}  # finance of another partnership
    return bool(parties & {Party.VO, Party.VOP, Party.FINANCE, Party.ADMIN})


def for_exchange(principal: Principal, exchange_id: str) -> dict[str, Any]:
    """The exchange's payment, for the VO, the VOP, finance (of that partnership) and admin: one read
    when it is theirs (the payment names the VO's user and the VOP); the exchange is read only to tell
    a refusal (403 for its other parties, 404 for anyone else) or that no payment exists yet."""
    payment = store.get(store.id_for(exchange_id)) if exchange_id.startswith("exc_") else None
    if payment is not None:
        mine = exchanges.parties(principal, {**payment, "host_user": None, "hop": None})
        if _may_see(principal, mine, payment["vop"]):
            return view(payment)
    doc = exchange_store.get(exchange_id)
    if doc is None:
        raise NotFound("No such exchange.")
    found = exchanges.parties(principal, doc)
    if principal.partnership_id and principal.partnership_id != doc["vop"]:
        found.discard(Party.FINANCE)
    if not found:
        raise NotFound("No such exchange.")
    if not _may_see(principal, found, doc["vop"]):
        raise Forbidden("The payment is the visiting organisation's and its partnership's.")
    raise NotFound("There is no payment for this exchange yet.")


def list_for(
    principal: Principal, status: str | None, overdue: bool | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    scope = _finance_scope(principal)
    key = ("vop", scope) if scope else ("kind", "payment")
    scope_text = f"payments:{principal.user_id}:{scope or '*'}:{status or '*'}:{overdue}"
    after = cursors.decode(scope_text, cursor, ListCursor)
    items, last = store.list_by(
        key, status, overdue, limit, (after.created_at, after.id) if after else None, clock.today()
    )
    next_cursor = cursors.encode(scope_text, ListCursor(created_at=last[0], id=last[1])) if last else None
    return [view(p) for p in items], next_cursor


def transfer_file(principal: Principal, payment_id: str) -> dict[str, Any]:
    payment = _load_for_finance(principal, payment_id)
    if not payment.get("transfer_key"):
        raise Conflict("The payment has no transfer file yet.", code="TRANSFER_NOT_READY")
    url = files.presigned_get(payment["transfer_key"], TRANSFER_LINK_SECONDS, files.artifacts_bucket())
    return {
        "url": url,
        "expires_in": TRANSFER_LINK_SECONDS,
        "transfer_reference": payment["transfer_reference"],
    }


# --- overdue (the scheduled function) -----------------------------------------------------------------


def mark_overdue(today: date) -> int:
    """Mark payments not paid by their due date overdue, once each; each mark stages the notice to
    finance in its own transaction, so a run that dies between two marks, or a mail that fails, loses
    no notice. Counted in the OverduePayments metric."""
    marked = 0
    for payment_id in store.overdue_candidates(today):

        def attempt(payment_id: str = payment_id) -> bool:
            payment = store.get(payment_id)
            if payment is None or payment.get("overdue_since") or payment["status"] not in OPEN:
                return False
            updated = {**payment, "overdue_since": today.isoformat(), "updated_at": clock.now_iso()}
            entry = _entry(updated, "overdue", "system:scheduler", None, payment["status"])
            store.replace(updated, entry, (Effect(TELL_OVERDUE),))
            return True

        marked += optimistic(attempt, _WHAT)
    if marked and get_settings().metrics_enabled:
        metrics.add_metric(name="OverduePayments", unit="Count", value=marked)
        metrics.flush_metrics()
    return marked


def deliver_overdue_notice(item: Item) -> None:
    """The `tell_overdue` effect: finance is told once of each payment found overdue, while it is open."""
    payment = store.get(item.subject_id)
    if payment is None or payment["status"] not in OPEN:
        return
    notifications.send(
        "payment_overdue",
        [notifications.Recipient(get_settings().finance_email, "finance")],
        {"payment": _view(payment)},
        f"payment#{payment['id']}#{item.subject_version}",
        f"/payments/{payment['id']}",
    )
