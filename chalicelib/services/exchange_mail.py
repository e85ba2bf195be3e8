"""E-mail to the parties an exchange now waits for, and of the statuses they are told of: staged as the
`tell_parties` effect with the write that causes it, delivered from the outbox through the one
notifications module. Who must act next is the flow table's answer for the state, so the mail never
disagrees with `actions`. A party is told once when the exchange starts waiting for it (a redelivery, or
a later change that leaves it waiting, sends nothing more), and only while the exchange still waits for
it. The reminders the scheduled function finds due (services.reminders) are delivered here too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from chalicelib import clock, notifications
from chalicelib.notifications import Recipient
from chalicelib.rules import reminders
from chalicelib.rules.exchange_flow import FLOW, PARTNERSHIPS, ExchangeStatus, Party
from chalicelib.rules.signing import KIND_OF_ACTION, current
from chalicelib.services import reference as reference_service
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Effect, Item

TELL = "tell_parties"

# Which notice asks for each step the table marks `awaited` (a test checks there is one for each).
ASKED_BY = {
    "submit": "draft_to_confirm",
    "approve": "review_needed",
    "sign_commitment_to_quality": "signature_needed",
    "sign_financial_agreement": "signature_needed",
    "edit": "changes_requested",
    "grant_extension": "extension_requested",
    "submit_report": "report_due",
    "approve_report": "report_to_review",
}
# Told when the exchange reaches these statuses (besides what it then waits for): the notice, and who.
TOLD_AT: dict[ExchangeStatus, tuple[str, tuple[Party, ...]]] = {
    ExchangeStatus.SUBMITTED: ("draft_submitted", (Party.VO, Party.HO)),
    ExchangeStatus.VALIDATED: ("review_done", (Party.VO, Party.HO)),
    ExchangeStatus.REPORT_APPROVED: ("report_decided", (Party.VO, Party.VOP)),
    ExchangeStatus.REPORT_REJECTED: ("report_decided", (Party.VO,)),
    ExchangeStatus.PAID: ("payment_paid", (Party.VO, Party.VOP)),
    ExchangeStatus.CANCELLED: ("exchange_cancelled", (Party.VO, Party.HO, Party.VOP, Party.HOP)),
}
# A status reached again later is not news of the same step: validated after an extension was granted
# is not the review's outcome. Told only when coming from these.
_TOLD_FROM = {ExchangeStatus.VALIDATED: {ExchangeStatus.SUBMITTED}}
_DOCUMENT_NAMES = {
    "commitment_to_quality": "Commitment to Quality",
    "financial_agreement": "financial agreement",
}
_PARTICIPANTS = {Party.VO: "visitor", Party.HO: "host"}
_PARTIES = {Party.VO, Party.HO, *PARTNERSHIPS}  # who is mailed; the scheduler and finance are not


def awaited(doc: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """(party, action) pairs the exchange waits for: the steps that move it on that a party has not
    taken yet; a signature only once its document is there to sign."""
    if doc is None:
        return set()
    status = ExchangeStatus(doc["status"])
    extension_asked = (doc.get("extension") or {}).get("status") == "requested"
    waiting = set()
    for party, action in FLOW.awaiting(status, doc.get("acted") or {}):
        if party not in _PARTIES:
            continue
        if action == "grant_extension" and not extension_asked:
            continue
        kind = KIND_OF_ACTION.get(action)
        if kind is not None and current(doc, kind) is None:
            continue
        waiting.add((party, action))
    return waiting


def recipients(doc: Mapping[str, Any], parties: tuple[str, ...]) -> list[Recipient]:
    """The addresses of these parties of the exchange: a participant's representative (as its
    registration holds it now), a partnership's first contact point."""
    found: list[Recipient] = []
    ids = [doc[_PARTICIPANTS[Party(p)]]["registration_id"] for p in parties if p in _PARTICIPANTS]
    registrations = registration_store.get_many(ids) if ids else {}  # one read for both participants
    for party in parties:
        if party in _PARTICIPANTS:
            registration = registrations.get(doc[_PARTICIPANTS[Party(party)]]["registration_id"])
            email = ((registration or {}).get("representative") or {}).get("email")
            addresses = [email] if email else []
        else:
            partnership = reference_service.partnership(doc["vop" if party == Party.VOP else "hop"])
            addresses = [cp.email for cp in partnership.contact_points[:1]] if partnership else []
        found.extend(Recipient(address, str(party)) for address in addresses)
    return found


def tell(
    doc: Mapping[str, Any], parties: tuple[str, ...], notice: str, context: Mapping[str, Any], key: str
) -> int:
    """Send a notice about the exchange to these parties, once per `key`; how many mails were sent."""
    return notifications.send(
        notice,
        recipients(doc, parties),
        {"exchange": notifications.exchange_view(doc), **context},
        key,
        notifications.exchange_path(str(doc["id"])),
    )


def told(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[Effect, ...]:
    """What a write of the exchange (`old` -> `new`) causes in mail, as an effect to stage with it: the
    parties it newly waits for, with what is asked of each, and the status they are told of."""
    status = ExchangeStatus(new["status"])
    moved = old is None or old["status"] != new["status"]
    came_from = ExchangeStatus(old["status"]) if old is not None else None
    news = status in TOLD_AT and moved and (status not in _TOLD_FROM or came_from in _TOLD_FROM[status])
    notice = str(status) if news else None
    asks = sorted(awaited(new) - awaited(old))
    rejected = sorted(set(_rejected(new)) - set(_rejected(old)))
    if notice is None and not asks and not rejected:
        return ()
    args: dict[str, Any] = {"notice": notice, "asks": [list(a) for a in asks]}
    return (Effect(TELL, {**args, "rejected": rejected} if rejected else args),)


def _rejected(doc: Mapping[str, Any] | None) -> list[str]:
    """The ids of the exchange's uploads the check rejected."""
    uploads = (doc or {}).get("uploads") or {}
    return [upload_id for upload_id, entry in uploads.items() if entry.get("status") == "rejected"]


def _context(doc: Mapping[str, Any], notice: str, action: str | None = None) -> dict[str, Any]:
    """What a notice about this exchange shows besides the exchange itself."""
    notes = doc.get("notes") or {}
    report = doc.get("report") or {}
    if notice == "report_decided":
        approved = doc["status"] != ExchangeStatus.REPORT_REJECTED
        return {"approved": approved, "comment": None if approved else report.get("comment")}
    if notice == "changes_requested":
        return {"comment": notes.get("review_comment") or notes.get("declined")}
    if notice == "exchange_cancelled":
        return {"reason": notes.get("cancel_reason")}
    if notice == "extension_requested":
        return {"end_date": (doc.get("extension") or {}).get("end_date")}
    if notice in ("signature_needed", reminders.SIGNATURE_REMINDER) and action is not None:
        return {"document": _DOCUMENT_NAMES[KIND_OF_ACTION[action]]}
    if notice == "draft_to_confirm":
        confirmed = (doc.get("acted") or {}).get("submit") or []
        names = {"VO": "the visitor", "HO": "the host"}
        return {"confirmed_by": " and ".join(names[p] for p in confirmed if p in names) or None}
    return {}


def deliver(item: Item) -> None:
    """The `tell_parties` effect, from the exchange as it is now: a party is asked only for what the
    exchange still waits for (an old change never asks anyone to sign a cancelled exchange); a status
    notice is news of a fact, told as it was. One mail per address and change, even when redelivered."""
    doc = exchange_store.get(item.subject_id)
    if doc is None:
        return
    version = item.subject_version
    status_told = item.args.get("notice")
    if status_told is not None:
        notice, parties = TOLD_AT[ExchangeStatus(status_told)]
        key = f"exchange#{doc['id']}#{version}"
        tell(doc, tuple(parties), notice, _context({**doc, "status": status_told}, notice), key)
    for upload_id in item.args.get("rejected") or ():
        _tell_rejected(doc, upload_id)
    still = awaited(doc)
    # Keyed by the version whose change started the wait: a redelivery sends nothing twice; grouped by
    # notice, so a partnership that is both VOP and HOP gets one mail naming both roles.
    by_notice: dict[tuple[str, str], list[str]] = {}
    for party, action in item.args.get("asks") or ():
        if (party, action) in still:
            by_notice.setdefault((ASKED_BY[action], action), []).append(party)
    for (notice, action), waiting in by_notice.items():
        key = f"exchange#{doc['id']}#{version}#{action}"
        tell(doc, tuple(waiting), notice, _context(doc, notice, action), key)


_UPLOADED = {"signed_scan": "signed scan", "evidence": "evidence of the stay"}


def _tell_rejected(doc: Mapping[str, Any], upload_id: str) -> None:
    """Whoever uploaded a file the check rejected is told why, once: the parties a scan signs for, or
    the visitor for its evidence."""
    entry = (doc.get("uploads") or {}).get(upload_id)
    if entry is None or entry.get("status") != "rejected":
        return
    parties = tuple(entry.get("parties") or (Party.VO,))
    what = _UPLOADED.get(str(entry.get("kind")), str(entry.get("kind")))
    document = _DOCUMENT_NAMES.get(str(entry.get("document")))
    upload = {
        "filename": entry.get("filename"),
        "what": f"{what} of the {document}" if document else what,
        "reason": entry.get("reason") or "it could not be read",
    }
    tell(
        doc,
        parties,
        "upload_rejected",
        {"upload": upload},
        f"exchange#{doc['id']}#upload#{upload_id}#{entry.get('etag')}",
    )


def deliver_reminder(item: Item) -> None:
    """The `remind_exchange` effect: the reminder the scheduled function found due (rules.reminders), from
    the exchange as it is now and only while its condition holds: a signature of those who still have
    to give it (none once signed or cancelled), the closing report while it is not filed, the stay on
    the day before it starts. One mail per address and condition, however often it is staged or
    delivered."""
    doc = exchange_store.get(item.subject_id)
    args = item.args
    # The condition names the status and its round: none other is reminded of.
    if doc is None or reminders.condition(doc) != args.get("condition"):
        return  # the condition ended (signed, cancelled, started, a new signing round...)
    notice = str(args["notice"])
    key = f"exchange#{doc['id']}#{notice}#{args['condition']}"
    if notice == reminders.STARTS_TOMORROW:
        if clock.today() < date.fromisoformat(doc["start_date"]):
            tell(doc, (Party.VO, Party.HO), notice, {}, key)
        return
    by_action: dict[str, list[str]] = {}
    for party, action in sorted(awaited(doc)):
        if action in reminders.ASKS.get(notice, ()):
            by_action.setdefault(action, []).append(party)
    for action, waiting in by_action.items():
        context = {**_context(doc, notice, action), "since": args.get("since")}
        tell(doc, tuple(waiting), notice, context, key)
