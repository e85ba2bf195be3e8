"""What a signed-in user chooses to receive (`GET/PATCH /v1/me/notifications`), and the partnership
officers' daily digest: once per business day, what waits for their partnership, with links."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib import clock, notifications
from chalicelib.auth import Principal
from chalicelib.errors import RuleBroken
from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import ExchangeStatus, Party
from chalicelib.rules.registration import PENDING
from chalicelib.services import exchange_mail
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import outbox, preferences
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Effect, Item
from chalicelib.store.writes import StaleVersion, transaction

SEND_DIGEST = "send_digest"
_WHAT_IS_CHANGED = "Your notification preferences"
# The statuses in which an exchange may wait for a partnership (a review, a signature, an extension
# asked for, a report to decide): the digest reads these only.
_PARTNERSHIP_ACTS = frozenset(
    {
        ExchangeStatus.SUBMITTED,
        ExchangeStatus.VALIDATED,
        ExchangeStatus.SIGNED,
        ExchangeStatus.READY,
        ExchangeStatus.REPORT_SUBMITTED,
    }
)
# What each awaited step is, in a digest's line.
_WHAT = {
    "approve": "Commitment to Quality to review",
    "sign_commitment_to_quality": "Commitment to Quality to sign",
    "sign_financial_agreement": "Financial agreement to sign",
    "grant_extension": "Extension to decide",
    "approve_report": "Closing report to decide",
}


def _address(principal: Principal) -> str:
    if not principal.email:
        raise RuleBroken(
            "The sign-in gives no e-mail address to set preferences for.", code="NO_EMAIL_ADDRESS"
        )
    return principal.email


def view(choice: preferences.Preferences) -> dict[str, Any]:
    return {
        "optional": choice.optional,
        "digest": choice.digest,
        "version": choice.version,
        "updated_at": choice.updated_at,
        "notices": [
            {"name": name, "step": n.step, "essential": n.essential, "digest": n.digest}
            for name, n in notifications.NOTICES.items()
        ],
    }


def get(principal: Principal) -> dict[str, Any]:
    return view(preferences.get(_address(principal)))


def update(
    principal: Principal, optional: bool | None, digest: str | None, version: int | None
) -> dict[str, Any]:
    """Change what the caller's address receives; fields left out stay. The daily digest lists what
    waits for a partnership, so only its officers may choose it."""
    address = _address(principal)
    if digest == preferences.DAILY and not (principal.has_role("partnership") and principal.partnership_id):
        raise RuleBroken(
            "The daily digest lists what waits for a partnership: only its officers may choose it.",
            code="DIGEST_FOR_PARTNERSHIPS",
        )

    def attempt() -> preferences.Preferences:
        current = preferences.get(address)
        check_version(version, {"version": current.version}, view(current), _WHAT_IS_CHANGED)
        chosen = current.digest if digest is None else digest
        return preferences.put(
            address,
            current,
            principal.user_id,
            current.optional if optional is None else optional,
            chosen,
            principal.partnership_id if chosen == preferences.DAILY else None,
            clock.now_iso(),
        )

    saved = optimistic(attempt, _WHAT_IS_CHANGED)
    logger.info(
        "notification preferences changed", extra={"digest": saved.digest, "optional": saved.optional}
    )
    return view(saved)


# --- the daily digest ------------------------------------------------------------------------------


def _day_number(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def stage_digests(today: date) -> int:
    """The schedule's part, on a business day: one `send_digest` item per partnership that has readers,
    staged once per day (its id names the day, so every later run of the day stages nothing)."""
    if today.weekday() >= 5:
        return 0
    staged = 0
    for partnership in reference_service.partnerships():
        if not preferences.digest_addresses(partnership.id):
            continue
        subject = f"partnership:{partnership.id}"
        if outbox.get(outbox.item_id(subject, _day_number(today), SEND_DIGEST)) is not None:
            continue  # staged by an earlier run today: a read, rather than a write refused every minute
        try:
            with transaction() as tx:
                effect = Effect(SEND_DIGEST, {"day": today.isoformat()})
                outbox.stage(tx, subject, _day_number(today), (effect,))
            staged += 1
        except StaleVersion:
            continue  # staged by an earlier run today
    return staged


def waiting_for(partnership_id: str) -> list[dict[str, Any]]:
    """What waits for the partnership now: registrations to decide, then exchanges' steps it must take
    (as VOP or HOP, by the flow table's answer), oldest first, each with its link."""
    items = [
        {
            "what": "Registration to decide",
            "about": _organisation(doc),
            "link": notifications.link(f"/registrations/{doc['id']}"),
        }
        for doc in registration_store.all_of_partnership_in(partnership_id, str(PENDING))
    ]
    for doc in exchange_store.of_partnership_in(partnership_id, frozenset(map(str, _PARTNERSHIP_ACTS))):
        sides = {Party.VOP} if doc["vop"] == partnership_id else set()
        sides |= {Party.HOP} if doc["hop"] == partnership_id else set()
        actions = sorted({action for party, action in exchange_mail.awaited(doc) if party in sides})
        for action in actions:
            view = notifications.exchange_view(doc)
            items.append(
                {
                    "what": _WHAT.get(action, action.replace("_", " ")),
                    "about": f"{view['reference']}: {view['visitor']} to {view['host']}",
                    "link": notifications.link(notifications.exchange_path(doc["id"])),
                }
            )
    return items


def deliver_digest(item: Item) -> None:
    """The `send_digest` effect: each reader of the partnership's digest gets today's list, once (keyed
    by the day); nothing waiting, nothing sent."""
    partnership_id = item.subject_id
    partnership = reference_service.partnership(partnership_id)
    addresses = preferences.digest_addresses(partnership_id)
    if partnership is None or not addresses:
        return
    waiting = waiting_for(partnership_id)
    if not waiting:
        return
    day = str(item.args["day"])
    notifications.send(
        "digest",
        [notifications.Recipient(address, "partnership") for address in addresses],
        {"partnership": partnership.name, "day": day, "waiting": waiting},
        f"{partnership_id}#{day}",
        f"/partnerships/{partnership_id}",
    )


def _organisation(doc: dict[str, Any]) -> str:
    organisation = doc.get("organisation") or {}
    return f"{organisation.get('name')} ({organisation.get('country')})"
