"""E-mail to the parties an exchange now waits for, and of the statuses they are told of: staged as the
`tell_parties` effect with the write that causes it, delivered from the outbox. Who must act next is the
flow table's answer for the state, so the mail never disagrees with `actions`. A party is told once
when the exchange starts waiting for it (a redelivery, or a later change that leaves it waiting, sends
nothing more), and only while the exchange still waits for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import FLOW, PARTNERSHIPS, ExchangeStatus, Party
from chalicelib.rules.signing import KIND_OF_ACTION, current
from chalicelib.services import reference as reference_service
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import mail
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Effect, Item

TELL = "tell_parties"

# What each step the table marks `awaited` asks, in the mail (a test checks there is one for each).
_ASKED = {
    "submit": "confirm the Commitment to Quality draft",
    "approve": "review the Commitment to Quality (approve it or request changes)",
    "sign_commitment_to_quality": "sign the Commitment to Quality",
    "sign_financial_agreement": "sign the financial agreement",
    "edit": "change the draft as requested, then confirm it",
    "grant_extension": "decide on the extension asked for",
    "submit_report": "submit the closing report with evidence of the stay",
    "approve_report": "review the closing report and its evidence",
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


def _addresses(doc: dict[str, Any], party: str) -> list[str]:
    if party in _PARTICIPANTS:
        registration = registration_store.get(doc[_PARTICIPANTS[Party(party)]]["registration_id"])
        email = ((registration or {}).get("representative") or {}).get("email")
        return [email] if email else []
    partnership = reference_service.partnership(doc["vop" if party == Party.VOP else "hop"])
    return [cp.email for cp in partnership.contact_points[:1]] if partnership else []


# Told when the exchange reaches these statuses (besides what it then waits for), and what.
_TOLD: dict[ExchangeStatus, tuple[tuple[Party, ...], str]] = {
    ExchangeStatus.REPORT_APPROVED: (
        (Party.VO, Party.VOP),
        "The closing report was approved. The lump sum is now computed and paid by the visitor's "
        "partnership within 10 days.",
    ),
    ExchangeStatus.REPORT_REJECTED: (
        (Party.VO,),
        "The visitor's partnership returned the closing report; see its comment below.",
    ),
    ExchangeStatus.PAID: ((Party.VO, Party.VOP), "The lump sum was paid."),
    ExchangeStatus.CANCELLED: ((Party.VO, Party.HO, Party.VOP, Party.HOP), "The exchange was cancelled."),
}


def _about(doc: dict[str, Any]) -> str:
    return (
        f"Exchange {doc['reference']} between {doc['visitor'].get('organisation_name')} "
        f"({doc['visitor'].get('country')}) and {doc['host'].get('organisation_name')} "
        f"({doc['host'].get('country')}), {doc['start_date']} to {doc['end_date']}"
    )


def tell(doc: dict[str, Any], parties: tuple[str, ...], subject: str, text: str, key: str) -> int:
    """Mail these parties of the exchange once per `key` (one mail per address); how many were sent."""
    sent = 0
    for address in dict.fromkeys(a for party in parties for a in _addresses(doc, party)):
        sent += mail.send_once(f"{key}#{address}", address, subject, text)
    return sent


def told(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[Effect, ...]:
    """What a write of the exchange (`old` -> `new`) causes in mail, as an effect to stage with it: the
    parties it newly waits for, with what is asked of each, and the status they are told of."""
    status = ExchangeStatus(new["status"])
    notice = str(status) if status in _TOLD and (old is None or old["status"] != new["status"]) else None
    asks = sorted(awaited(new) - awaited(old))
    if notice is None and not asks:
        return ()
    return (Effect(TELL, {"notice": notice, "asks": [list(a) for a in asks]}),)


def deliver(item: Item) -> None:
    """The `tell_parties` effect, from the exchange as it is now: a party is asked only for what the
    exchange still waits for (an old change never asks anyone to sign a cancelled exchange); a status
    notice is news of a fact, told as it was. One mail per address and change, even when redelivered."""
    doc = exchange_store.get(item.subject_id)
    if doc is None:
        return
    version = item.subject_version
    notice = item.args.get("notice")
    if notice is not None:
        status = ExchangeStatus(notice)
        parties, sentence = _TOLD[status]
        report = doc.get("report") or {}
        comment = report.get("comment") if status == ExchangeStatus.REPORT_REJECTED else None
        text = f"{_about(doc)}.\n\n{sentence}" + (f"\n\nComment: {comment}" if comment else "")
        subject = f"ClusterXchange: exchange {doc['reference']} is {status.replace('_', ' ')}"
        tell(doc, tuple(parties), subject, text, f"exchange#{doc['id']}#{version}#told")
    still = awaited(doc)
    asks = [(party, action) for party, action in item.args.get("asks") or () if (party, action) in still]
    by_address: dict[str, list[tuple[str, str]]] = {}
    for party, action in asks:
        for address in _addresses(doc, party):
            by_address.setdefault(address, []).append((party, action))
    for address, asked in by_address.items():
        # One partnership as VOP and HOP gets one mail naming both roles.
        subject = f"ClusterXchange: exchange {doc['reference']} is waiting for you"
        lines = "\n".join(f"- as {party}: {_ASKED[action]}" for party, action in asked)
        text = (
            f"{_about(doc)}, is now {str(doc['status']).replace('_', ' ')}.\n\n"
            f"What is asked of you:\n{lines}\n\nOpen it in ClusterXchange."
        )
        # Keyed by the version whose change started the wait: a redelivery sends nothing twice.
        key = f"exchange#{doc['id']}#{version}#{'+'.join(p for p, _ in asked)}"
        if mail.send_once(key, address, subject, text):
            logger.info(
                "exchange mail sent",
                extra={"exchange_id": doc["id"], "asks": [f"{p}:{a}" for p, a in asked]},
            )
