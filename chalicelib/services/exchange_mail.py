"""E-mail to the parties an exchange now waits for (from the exchanges stream): who must act next is
the flow table's answer for the new state, so the mail never disagrees with `actions`. A party is told
once when the exchange starts waiting for it (a redelivered record, or a later change that leaves it
waiting, sends nothing more)."""

from __future__ import annotations

from typing import Any

from chalicelib import reference
from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import FLOW, PARTNERSHIPS, ExchangeStatus, Party
from chalicelib.rules.signing import SIGN_ACTION, current
from chalicelib.store import mail
from chalicelib.store import registrations as registration_store

# What each awaited step asks, in the mail.
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


def awaited(doc: dict[str, Any] | None) -> set[tuple[str, str]]:
    """(party, action) pairs the exchange waits for: the steps that move it on that a party has not
    taken yet; a signature only once its document is there to sign."""
    if doc is None:
        return set()
    status = ExchangeStatus(doc["status"])
    acted = doc.get("acted") or {}
    waiting: set[tuple[str, str]] = set()
    for t in FLOW.transitions:
        if status not in t.sources or t.action not in _ASKED:
            continue
        if t.action == "grant_extension" and (doc.get("extension") or {}).get("status") != "requested":
            continue
        kind = next((k for k, a in SIGN_ACTION.items() if a == t.action), None)
        if kind is not None and current(doc, kind) is None:
            continue
        if t.action == "edit" and status != ExchangeStatus.CHANGES_REQUESTED:
            continue  # a draft is the participants' to confirm, not to be told to edit
        parties = t.collect or t.by
        done = set(acted.get(t.action, ()))
        waiting |= {(str(p), t.action) for p in parties if p not in done and p in _PARTIES}
    return waiting


def _addresses(doc: dict[str, Any], party: str) -> list[str]:
    if party in _PARTICIPANTS:
        registration = registration_store.get(doc[_PARTICIPANTS[Party(party)]]["registration_id"])
        email = ((registration or {}).get("representative") or {}).get("email")
        return [email] if email else []
    partnership = reference.partnerships().get(doc["vop" if party == Party.VOP else "hop"])
    return [cp.email for cp in partnership.contact_points[:1]] if partnership else []


def handle_stream_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    newly = awaited(new) - awaited(old)
    if new is None or not newly:
        return
    by_address: dict[str, list[tuple[str, str]]] = {}
    for party, action in sorted(newly):
        for address in _addresses(new, party):
            by_address.setdefault(address, []).append((party, action))
    for address, asks in by_address.items():
        # One partnership as VOP and HOP gets one mail naming both roles.
        subject = f"ClusterXchange: exchange {new['reference']} is waiting for you"
        lines = "\n".join(f"- as {party}: {_ASKED[action]}" for party, action in asks)
        text = (
            f"Exchange {new['reference']} between {new['visitor'].get('organisation_name')} "
            f"({new['visitor'].get('country')}) and {new['host'].get('organisation_name')} "
            f"({new['host'].get('country')}), {new['start_date']} to {new['end_date']}, is now "
            f"{str(new['status']).replace('_', ' ')}.\n\nWhat is asked of you:\n{lines}\n\n"
            "Open it in ClusterXchange."
        )
        # Keyed by the stored version that started the wait, so a redelivered record sends nothing twice.
        key = f"exchange#{new['id']}#{new['version']}#{'+'.join(p for p, _ in asks)}"
        if mail.send_once(key, address, subject, text):
            logger.info(
                "exchange mail sent",
                extra={"exchange_id": new["id"], "asks": [f"{p}:{a}" for p, a in asks]},
            )
