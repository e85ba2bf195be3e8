"""Registration use cases: register, read, edit, a partnership's queue and decision, withdrawal with
erasure, the GDPR export; and what decisions and withdrawals cause (effects, from the outbox): the
applicant's e-mail, the participant's exchanges and contact requests left."""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors, notifications, reference
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.observability import logger
from chalicelib.reference import gazetteer
from chalicelib.rules import RuleViolation
from chalicelib.rules import registration as lifecycle
from chalicelib.rules.eligibility import RegistrationFacts, check_registration
from chalicelib.rules.registration import LIFECYCLE, RegistrationStatus
from chalicelib.services import cv
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import audit as audit_store
from chalicelib.store import registrations as store
from chalicelib.store.audit import AuditEntry
from chalicelib.store.outbox import Effect, Item
from chalicelib.store.writes import StaleVersion

# Fields the API never shows: the owner's user id and the bookkeeping of other features (the alumni
# entry is shown at /v1/me/alumni).
_INTERNAL_FIELDS = ("user_id", "exchanges", "alumni")
_MERGED_SECTIONS = ("organisation", "representative", "preferences")  # PATCH merges these key by key
_REPLACED_SECTIONS = ("motivation", "hosting")  # and replaces these whole
_SUPERVISORS = ("support", "admin")
_WHAT = "The registration"


class QueueCursor(cursors.CursorKey):
    """The last item shown: its id and its queue key ("<status>#<created_at>")."""

    queue_key: str = Field(pattern=r"^(pending|accepted|rejected|withdrawn)#\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^reg_[0-9a-f]{32}$")


# --- shared helpers ------------------------------------------------------------------------------


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The registration as the API shows it (used where a resource goes into an error's details)."""
    return {key: value for key, value in doc.items() if key not in _INTERNAL_FIELDS}


def parties(principal: Principal, doc: dict[str, Any]) -> set[str]:
    """What the caller is to this registration (the lifecycle table's parties)."""
    found = set()
    if doc["user_id"] == principal.user_id:
        found.add("owner")
    if principal.has_role("partnership") and principal.partnership_id == doc["partnership_id"]:
        found.add("partnership")
    return found


def _audit(
    principal: Principal | None,
    doc: dict[str, Any],
    action: str,
    *,
    at: str,
    from_status: str | None,
    fields: tuple[str, ...] = (),
    as_role: str | None = None,
    actor: str | None = None,
) -> AuditEntry:
    return audit_store.entry(
        store.AUDIT_KIND,
        doc["id"],
        action,
        actor=actor or (principal.user_id if principal else "system"),
        roles=principal.roles if principal else None,
        as_role=as_role,
        at=at,
        from_status=from_status,
        to_status=doc["status"],
        fields=fields,
    )


def _effects(names: Iterable[str], before: dict[str, Any], after: dict[str, Any]) -> tuple[Effect, ...]:
    """The outbox items of what a step causes (the table's row names them), with what their delivery
    needs besides the registration as stored: the status a decision tells (delivered only while it
    holds), and for a withdrawal the user id it pseudonymised (the participant's exchanges are found by
    it). Decision: the item keeps that id after delivery, as past audit entries keep it as actor."""
    args: dict[str, dict[str, str]] = {
        lifecycle.TELL_DECISION: {"status": str(after["status"])},
        lifecycle.CARRY_OUT_WITHDRAWAL: {"user_id": str(before["user_id"])},
    }
    return tuple(Effect(name, args.get(name, {})) for name in names)


def _own(principal: Principal) -> dict[str, Any]:
    doc = store.get_for_user(principal.user_id)
    if doc is None:
        raise NotFound("You have no registration.")
    return doc


# --- rules applied to a whole registration -------------------------------------------------------


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def facts_of(doc: dict[str, Any]) -> RegistrationFacts:
    organisation = doc.get("organisation") or {}
    representative = doc.get("representative") or {}
    preferences = doc.get("preferences") or {}
    hosting = doc.get("hosting") or {}
    born = _date(representative.get("date_of_birth"))
    if born is None:  # the request models require it; a document without it is a bug, not a 422
        raise ValueError("a registration without a date of birth")
    return RegistrationFacts(
        roles=frozenset(doc.get("roles") or ()),
        partnership_id=doc.get("partnership_id") or "",
        organisation_type=organisation.get("type") or "",
        organisation_country=organisation.get("country") or "",
        cluster_name=organisation.get("cluster_name"),
        ecosystems=tuple(organisation.get("ecosystems") or ()),
        date_of_birth=born,
        nationality=representative.get("nationality") or "",
        residence_country=representative.get("residence_country"),
        residence_permit=bool(representative.get("residence_permit")),
        residence_since=_date(representative.get("residence_since")),
        has_hosting_offer=bool(str(hosting.get("offer") or "").strip()),
        preferred_countries=tuple(preferences.get("countries") or ()),
        preferred_ecosystems=tuple(preferences.get("ecosystems") or ()),
        preferred_organisation_types=tuple(preferences.get("organisation_types") or ()),
        objectives=tuple(preferences.get("objectives") or ()),
        languages=tuple(representative.get("languages") or ()),
        available_from=_date(preferences.get("available_from")),
        available_to=_date(preferences.get("available_to")),
    )


def _reference_data() -> reference.ReferenceData:
    # Which partnerships exist is the seeded table's answer, not the file's: a stage may run fewer.
    return dataclasses.replace(
        reference.reference_data(), partnership_ids=reference_service.partnership_ids()
    )


def _check_and_locate(doc: dict[str, Any]) -> None:
    """Apply every eligibility rule and fill the organisation's location; 422 with all violations."""
    violations = check_registration(facts_of(doc), _reference_data(), clock.today())
    organisation = doc["organisation"]
    if organisation.get("location") is None:
        found = gazetteer.locate(organisation["city"], organisation["country"])
        if found is not None:
            organisation["location"] = {"lat": found[0], "lon": found[1]}
        # An ineligible country explains everything already; "unknown city" on top would be noise.
        elif not any(v.code == "COUNTRY_NOT_ELIGIBLE" for v in violations):
            violations.append(
                RuleViolation(
                    "UNKNOWN_CITY",
                    f"cannot find {organisation['city']!r} in {organisation['country']!r}: send `location`",
                    "organisation.city",
                )
            )
    if violations:
        raise RuleBroken.from_violations(violations)


# --- participant use cases ------------------------------------------------------------------------


def register(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Create the caller's registration (pending). `data` is the validated request in JSON form."""
    now = clock.now_iso()
    doc: dict[str, Any] = {
        "id": store.new_id(),
        "user_id": principal.user_id,
        "status": RegistrationStatus.PENDING,
        "roles": list(dict.fromkeys(data["roles"])),
        "partnership_id": data["partnership_id"],
        "organisation": copy.deepcopy(data["organisation"]),
        "representative": copy.deepcopy(data["representative"]),
        "motivation": data["motivation"],
        "preferences": copy.deepcopy(data.get("preferences") or {}),
        "hosting": copy.deepcopy(data.get("hosting")),
        "cv": None,
        "decision": None,
        "exchanges": None,
        "erased_at": None,
        "created_at": now,
        "updated_at": now,
        "version": None,
    }
    _check_and_locate(doc)
    entry = _audit(
        principal, doc, "registration.created", at=now, from_status=None, fields=tuple(sorted(data))
    )
    try:
        created = store.create(doc, entry, tuple(Effect(e) for e in lifecycle.ON_CREATE))
    except store.AlreadyRegistered as exc:
        raise Conflict("You already have a registration.", code="ALREADY_REGISTERED") from exc
    logger.info("registration created", extra={"registration_id": created["id"]})
    return created


def my_registration(principal: Principal) -> dict[str, Any]:
    return _own(principal)


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """Dotted names of what differs ("organisation.city"), never the values."""
    changed: list[str] = []
    for section in _MERGED_SECTIONS:
        old, new = before.get(section) or {}, after.get(section) or {}
        changed.extend(
            f"{section}.{key}" for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)
        )
    changed.extend(section for section in _REPLACED_SECTIONS if before.get(section) != after.get(section))
    return tuple(changed)


def _merged(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(doc)
    for section in _MERGED_SECTIONS:
        if section in changes:
            merged[section] = {**(merged.get(section) or {}), **changes[section]}
    for section in _REPLACED_SECTIONS:
        if section in changes:
            merged[section] = copy.deepcopy(changes[section])
    org_changes = changes.get("organisation") or {}
    old_org, new_org = doc.get("organisation") or {}, merged["organisation"]
    moved = (new_org.get("city"), new_org.get("country")) != (old_org.get("city"), old_org.get("country"))
    if "location" not in org_changes and moved:
        new_org["location"] = None  # coordinates of the old city would be wrong: find the new one
    return merged


def update_mine(principal: Principal, changes: dict[str, Any], version: int | None) -> dict[str, Any]:
    """Edit the caller's registration (organisation, representative, motivation, preferences, hosting)."""

    def attempt() -> dict[str, Any]:
        doc = _own(principal)
        LIFECYCLE.check(RegistrationStatus(doc["status"]), "edit", parties(principal, doc))
        check_version(version, doc, public_view(doc), _WHAT)
        merged = _merged(doc, changes)
        _check_and_locate(merged)
        fields = _changed_fields(doc, merged)
        if not fields:
            return doc  # nothing to write, nothing to audit
        merged["updated_at"] = clock.now_iso()
        entry = _audit(
            principal,
            merged,
            "registration.updated",
            at=merged["updated_at"],
            from_status=doc["status"],
            fields=fields,
        )
        try:
            return store.replace(merged, entry)
        except StaleVersion:
            if version is not None:  # the caller pinned a version that is now stale: tell them
                raise version_conflict(public_view(store.get(doc["id"]) or doc), _WHAT) from None
            raise

    return optimistic(attempt, _WHAT)


def withdraw_mine(principal: Principal) -> None:
    """Withdraw the caller's registration and erase its personal data (see rules.registration.withdrawn).

    The uniqueness guard goes in the same transaction, so the user may register again. Decision: past
    audit entries keep the user id as actor (they hold nothing else personal and rewriting history
    would defeat the trail); the registration itself only carries the pseudonym from now on. What the
    withdrawal does to the participant's exchanges and contact requests is an effect written with it
    (`carry_out_withdrawal`), so it happens however this request ends.
    """

    def attempt() -> None:
        doc = _own(principal)
        step = LIFECYCLE.step(RegistrationStatus(doc["status"]), "withdraw", parties(principal, doc))
        # Files first: if the write then fails the user retries, and no orphan CV outlives the erasure.
        cv.delete_cv_files(doc.get("cv"))
        now = clock.now_iso()
        kept = lifecycle.withdrawn(doc, now)
        entry = _audit(
            principal,
            kept,
            "registration.withdrawn",
            at=now,
            from_status=doc["status"],
            fields=("personal", "representative", "motivation", "preferences", "hosting", "cv", "user_id"),
        )
        store.replace(
            kept, entry, release_guard_of=principal.user_id, effects=_effects(step.effects, doc, kept)
        )
        logger.info("registration withdrawn", extra={"registration_id": doc["id"]})

    optimistic(attempt, _WHAT)


def export_mine(principal: Principal) -> dict[str, Any]:
    """Everything held about the caller (GDPR access): the registration with its personal data, its
    audit trail and the CV's metadata with a short-lived link; the contact requests it sent and
    received, the exchanges it is the visitor or the host of (signatures, documents, its uploads, the
    bank account it gave), the payments to it with their ledger entries; each with its audit trail; and
    the questions it asked the support office. Queries of the tables' indexes, by the registration's and
    the user's ids (no Scan)."""
    from chalicelib.services import support_queries
    from chalicelib.services.contacts import public_view as request_view
    from chalicelib.store import contacts as contact_store
    from chalicelib.store import exchanges as exchange_store
    from chalicelib.store import payments as payment_store

    now = clock.now_iso()
    doc = store.get_for_user(principal.user_id)
    if doc is None:
        return {
            "registration": None,
            "audit": [],
            "cv": None,
            "contact_requests": [],
            "exchanges": [],
            "payments": [],
            "support_queries": support_queries.asked_by(principal),
            "exported_at": now,
        }
    user_id = principal.user_id
    sent, received = contact_store.all_for(doc["id"])
    exchanges = exchange_store.all_for_user(user_id)
    visited = [payment_store.id_for(e["id"]) for e in exchanges if e["visitor_user"] == user_id]
    payments = [
        (p, booked) for p, booked in payment_store.with_ledger(visited) if p["visitor_user"] == user_id
    ]
    return {
        "registration": doc,
        "audit": audit_store.entries_for(store.audit_entity(doc["id"])),
        "cv": cv.cv_export(doc.get("cv")),
        "contact_requests": [
            {
                **request_view(request),
                "direction": direction,
                "audit": audit_store.entries_for(f"{contact_store.AUDIT_KIND}#{request['id']}"),
            }
            for direction, requests in (("sent", sent), ("received", received))
            for request in requests
        ],
        "exchanges": [
            {
                **_exchange_held(exchange, user_id),
                "audit": audit_store.entries_for(f"{exchange_store.AUDIT_KIND}#{exchange['id']}"),
            }
            for exchange in exchanges
        ],
        "payments": [
            {
                **payment,
                "ledger": booked,
                "audit": audit_store.entries_for(f"{payment_store.AUDIT_KIND}#{payment['id']}"),
            }
            for payment, booked in payments
        ],
        "support_queries": support_queries.asked_by(principal),
        "exported_at": now,
    }


# What an exchange's export holds as stored; the rest is shaped per participant (`_exchange_held`).
_HELD_EXCHANGE_FIELDS = (
    "id",
    "reference",
    "status",
    "visitor",
    "host",
    "visitor_partnership",
    "host_partnership",
    "notes",
    "extension",
    "report",
    "host_feedback",
    "created_at",
    "updated_at",
)
_HELD_SIGNATURE_FIELDS = ("document", "version", "sha256", "party", "at", "scan")
_HELD_UPLOAD_FIELDS = ("id", "kind", "status", "filename", "document", "version", "requested_at")


def _exchange_held(doc: dict[str, Any], user_id: str) -> dict[str, Any]:
    """An exchange as held about one of its participants: what is the other parties' (their user ids,
    the files they uploaded, the visitor's bank account for the host) stays out."""
    from chalicelib.store.exchanges import AGREEMENT_FIELDS, SCHEDULE_FIELDS

    role = "visitor" if doc["visitor_user"] == user_id else "host"
    return {
        **{k: doc.get(k) for k in _HELD_EXCHANGE_FIELDS},
        "role": role,
        "agreement": {k: doc.get(k) for k in (*AGREEMENT_FIELDS, *SCHEDULE_FIELDS)},
        "bank_account": doc.get("bank_account") if role == "visitor" else None,
        "signatures": [
            {
                **{k: s.get(k) for k in _HELD_SIGNATURE_FIELDS},
                "by": user_id if s.get("by") == user_id else None,
            }
            for s in doc.get("signatures") or []
        ],
        "documents": [
            {"kind": kind, **{k: v.get(k) for k in ("version", "sha256", "size", "generated_at")}}
            for kind, versions in (doc.get("documents") or {}).items()
            for v in versions
        ],
        "uploads": [
            {
                **{k: u.get(k) for k in _HELD_UPLOAD_FIELDS},
                "checked_at": u.get("checked_at"),
                "size": u.get("size"),
                "sha256": u.get("sha256_file"),
                "reason": u.get("reason"),
            }
            for u in sorted((doc.get("uploads") or {}).values(), key=lambda u: u["requested_at"])
            if u.get("by") == user_id
        ],
    }


# --- reading and deciding as a partnership, support or admin --------------------------------------


def _may_see(principal: Principal, doc: dict[str, Any]) -> bool:
    if doc["user_id"] == principal.user_id or principal.has_role(*_SUPERVISORS):
        return True
    return principal.has_role("partnership") and principal.partnership_id == doc["partnership_id"]


def get_for(principal: Principal, registration_id: str) -> dict[str, Any]:
    doc = store.get(registration_id)
    # 404 rather than 403 for a registration the caller may not see, so ids reveal nothing.
    if doc is None or not _may_see(principal, doc):
        raise NotFound("No such registration.")
    return doc


def list_for_partnership(
    principal: Principal, partnership_id: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A partnership's registrations, oldest first (within a status when one is given)."""
    if not principal.has_role(*_SUPERVISORS) and principal.partnership_id != partnership_id:
        raise Forbidden("You may only read your own partnership's registrations.")
    if partnership_id not in reference_service.partnership_ids():
        raise NotFound("No such partnership.")
    # Bound to the partnership and the status filter: a cursor of another queue or filter fails.
    scope = f"registrations:{partnership_id}:{status or '*'}"
    after = cursors.decode(scope, cursor, QueueCursor)
    items, last = store.list_by_partnership(
        partnership_id, status, limit, (after.id, after.queue_key) if after else None
    )
    return items, (cursors.encode(scope, QueueCursor(id=last[0], queue_key=last[1])) if last else None)


def decide(
    principal: Principal,
    registration_id: str,
    decision: lifecycle.Decision,
    reason: str | None,
    version: int | None,
) -> dict[str, Any]:
    """Accept or reject a pending registration, as an officer of its partnership (never one's own)."""
    doc = store.get(registration_id)
    if doc is None:
        raise NotFound("No such registration.")
    step = LIFECYCLE.step(RegistrationStatus(doc["status"]), decision, parties(principal, doc))
    status = step.status
    try:
        lifecycle.check_decision(decision, reason)
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation
    check_version(version, doc, public_view(doc), _WHAT)
    now = clock.now_iso()
    decided = copy.deepcopy(doc)
    decided.update(
        status=status,
        decision={
            "decision": decision,
            "reason": (reason or "").strip() or None,
            "by": principal.user_id,
            "at": now,
        },
        updated_at=now,
    )
    entry = _audit(
        principal,
        decided,
        f"registration.{status}",
        at=now,
        from_status=doc["status"],
        fields=("status", "decision"),
        as_role="partnership",
    )
    try:
        saved = store.replace(decided, entry, effects=_effects(step.effects, doc, decided))
    except StaleVersion:
        # Someone else decided or the owner edited in between: the table says why, from what is there.
        current = store.get(registration_id) or doc
        LIFECYCLE.check(RegistrationStatus(current["status"]), decision, parties(principal, current))
        raise version_conflict(public_view(current), _WHAT) from None
    logger.info("registration decided", extra={"registration_id": registration_id, "status": saved["status"]})
    return saved


# --- events -----------------------------------------------------------------------------------------


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    """What a message about a registration shows of it."""
    organisation = doc.get("organisation") or {}
    partnership = reference_service.partnership(str(doc.get("partnership_id") or ""))
    reason = ((doc.get("decision") or {}).get("reason") or "").strip() or "no reason was given"
    return {
        "id": doc["id"],
        "organisation": organisation.get("name") or "your organisation",
        "country": organisation.get("country"),
        "roles": list(doc.get("roles") or ()),
        "partnership": partnership.name if partnership else doc.get("partnership_id"),
        "accepted": doc["status"] == lifecycle.ACCEPTED,
        "reason": reason,
        "submitted_on": str(doc.get("created_at") or "")[:10],
    }


def _greeting(doc: dict[str, Any]) -> str:
    representative = doc.get("representative") or {}
    name = " ".join(p for p in (representative.get("first_name"), representative.get("last_name")) if p)
    return f"Dear {name}," if name else "Hello,"


def partnership_recipients(partnership_id: str) -> list[notifications.Recipient]:
    """A partnership's officers, as mail reaches them: its first contact point."""
    partnership = reference_service.partnership(partnership_id)
    return [
        notifications.Recipient(cp.email, "partnership")
        for cp in (partnership.contact_points[:1] if partnership else ())
    ]


def deliver_received(item: Item) -> None:
    """The `tell_registration_received` effect: the partnership the registration names is asked to decide,
    while it still waits (one decided or withdrawn before this is delivered asks nobody)."""
    doc = store.get(item.subject_id)
    if doc is None or doc["status"] != lifecycle.PENDING:
        return
    notifications.send(
        "registration_received",
        partnership_recipients(str(doc["partnership_id"])),
        {"registration": _view(doc)},
        f"registration#{doc['id']}#{item.subject_version}",
        f"/registrations/{doc['id']}",
    )


def deliver_reminder(item: Item) -> None:
    """The `remind_registration` effect: the partnership is reminded of a registration that has waited
    too long for its decision, while it still waits (one decided or withdrawn since reminds nobody);
    once, however often delivered."""
    doc = store.get(item.subject_id)
    if doc is None or doc["status"] != lifecycle.PENDING or not doc.get("reminded_at"):
        return
    waited = date.fromisoformat(doc["reminded_at"]) - date.fromisoformat(str(doc["created_at"])[:10])
    notifications.send(
        "registration_reminder",
        partnership_recipients(str(doc["partnership_id"])),
        {"registration": {**_view(doc), "days_waiting": waited.days}},
        f"registration#{doc['id']}#reminder",
        f"/registrations/{doc['id']}",
    )


def deliver_decision(item: Item) -> None:
    """The `tell_registration_decision` effect: the applicant told of the partnership's decision, from
    the registration as stored and only while the decision holds (one withdrawn since tells nobody)."""
    doc = store.get(item.subject_id)
    if doc is None or doc["status"] != item.args.get("status"):
        logger.info("decision mail skipped: no longer so", extra={"registration_id": item.subject_id})
        return
    email = (doc.get("representative") or {}).get("email")
    if not email:
        logger.info("decision mail skipped: no address", extra={"registration_id": doc["id"]})
        return
    # Keyed by the version the decision wrote, so a redelivered item does not mail twice.
    sent = notifications.send(
        "registration_decided",
        [notifications.Recipient(email, "applicant")],
        {"registration": _view(doc), "greeting": _greeting(doc)},
        f"registration#{doc['id']}#{item.subject_version}",
        f"/registrations/{doc['id']}",
    )
    logger.info("decision mail", extra={"registration_id": doc["id"], "status": doc["status"], "sent": sent})


# --- what a withdrawal does to the participant's exchanges and contact requests -------------------

WITHDRAWAL = "system:withdrawal"  # the actor of every write a withdrawal causes
WITHDRAWN_NAME = "Withdrawn participant"  # a withdrawn participant's name, wherever others see it
CANCEL_REASON = "withdrawn"
_CLOSED_REASON = "The participant withdrew from ClusterXchange."


def deliver_withdrawal(item: Item) -> None:
    """The `carry_out_withdrawal` effect, for the registration as stored: withdrawn, by the user the
    item names (its pseudonym is the stored owner)."""
    doc = store.get(item.subject_id)
    user_id = str(item.args.get("user_id") or "")
    if doc is None or doc["status"] != lifecycle.WITHDRAWN or doc["user_id"] != lifecycle.pseudonym(user_id):
        return
    carry_out_withdrawal(user_id, doc["id"])


def carry_out_withdrawal(user_id: str, registration_id: str) -> None:
    """What a stored withdrawal causes, each write idempotent (a redelivered item finds it done):

    - the participant's exchanges that have not started are cancelled through the flow's own step, so
      cancelling has its usual effects (the visit given back, the parties told);
    - those that have started run on (the programme pays what was done), and every exchange keeps what
      the programme must keep (signatures, documents, report) with the participant pseudonymised;
    - its contact requests keep no words of its and no name; a pending one is closed, which frees the
      sender's slot. Decision (RULES.md keeps agreements, payments and audits, not contact): the
      request stays, for the other side's box and the exchange that names it, without its content.
    """
    from chalicelib.store import contacts as contact_store
    from chalicelib.store import exchanges as exchange_store

    for exchange in exchange_store.all_for_user(user_id):
        optimistic(
            functools.partial(_leave_exchange, exchange["id"], user_id, registration_id), "The exchange"
        )
    sent, received = contact_store.all_for(registration_id)
    for request in sent + received:
        optimistic(functools.partial(_leave_request, request["id"], user_id, registration_id), "The request")
    logger.info("withdrawal carried out", extra={"registration_id": registration_id})


def _pseudonymised(doc: dict[str, Any], side: str, user_id: str, *, erase_account: bool) -> dict[str, Any]:
    """The exchange with its `side` participant pseudonymised: its user id (signatures and uploads too)
    under the pseudonym that links it to the kept registration, its names gone, its registration id
    kept; and the visitor's bank account if asked."""
    alias = lifecycle.pseudonym(user_id)
    doc[f"{side}_user"] = alias
    doc[side] = {**doc[side], "organisation_name": WITHDRAWN_NAME, "representative_name": lifecycle.ERASED}
    doc["signatures"] = [
        {**s, "by": alias} if s.get("by") == user_id else s for s in doc.get("signatures") or []
    ]
    # A file name can name a person; the file itself is kept (evidence, a signed scan).
    doc["uploads"] = {
        key: {**u, "by": alias, "filename": lifecycle.ERASED} if u.get("by") == user_id else u
        for key, u in (doc.get("uploads") or {}).items()
    }
    if erase_account:
        doc["bank_account"] = None
    return doc


def _leave_exchange(exchange_id: str, user_id: str, registration_id: str) -> None:
    from chalicelib.rules.exchange_flow import BEFORE_START, ExchangeStatus, Party
    from chalicelib.rules.exchange_model import Exchange
    from chalicelib.services import exchanges
    from chalicelib.store import exchanges as exchange_store

    doc = exchange_store.get(exchange_id)
    sides = [s for s in ("visitor", "host") if doc and doc[s]["registration_id"] == registration_id]
    # Another registration the user held, or done already (the index may lag behind the item).
    if doc is None or not sides or doc[f"{sides[0]}_user"] != user_id:
        return
    side = sides[0]
    status = ExchangeStatus(doc["status"])
    cancels = status in BEFORE_START
    # Once nothing will be paid, the visitor's account is kept for nothing.
    erase_account = side == "visitor" and (cancels or status == ExchangeStatus.CANCELLED)
    fields = (side, f"{side}_user", "signatures", "uploads", *(("bank_account",) if erase_account else ()))
    left = _pseudonymised(copy.deepcopy(doc), side, user_id, erase_account=erase_account)
    if cancels:
        # Cancelled through the flow's own step (its effects: the visit given back, the parties told), on
        # the exchange as it will be shown from now on: with the participant pseudonymised.
        args = {"reason": CANCEL_REASON}
        exchanges.system_act(left, "cancel", Party.WITHDRAWAL, WITHDRAWAL, args, ("notes", *fields))
        return
    # Started: it runs on, with the participant pseudonymised wherever the exchange shows it.
    exchanges.record(
        Exchange.from_document(doc), Exchange.from_document(left), "pseudonymised", WITHDRAWAL, fields
    )


def _leave_request(request_id: str, user_id: str, registration_id: str) -> None:
    from chalicelib.rules.contact_request import DECLINED, PENDING, TELL_ANSWERED
    from chalicelib.store import contacts as contact_store

    request = contact_store.get(request_id)
    side = "from" if request and request["from"] == registration_id else "to"
    if request is None or request[f"{side}_user"] != user_id:
        return  # done already
    summary = "sender" if side == "from" else "recipient"
    updated = {
        **request,
        f"{side}_user": lifecycle.pseudonym(user_id),
        summary: {**request[summary], "organisation_name": WITHDRAWN_NAME},
    }
    # The participant's own words go; the other side's message is the other side's.
    written = "message" if side == "from" else "reason"
    if updated.get(written):
        updated[written] = lifecycle.ERASED
    now = clock.now_iso()
    closes = request["status"] == PENDING
    entry = audit_store.entry(
        contact_store.AUDIT_KIND,
        request_id,
        "contact_request.declined" if closes else "contact_request.pseudonymised",
        actor=WITHDRAWAL,
        roles=None,
        at=now,
        from_status=request["status"],
        to_status=DECLINED if closes else request["status"],
        fields=tuple(
            dict.fromkeys((f"{side}_user", summary, written, *(("status", "reason") if closes else ())))
        ),
    )
    if closes:
        # The sender is told its request is closed, as a decline tells it.
        told = (Effect(TELL_ANSWERED, {"status": str(DECLINED)}),)
        contact_store.close(updated, DECLINED, _CLOSED_REASON, now, entry, told)
    else:
        contact_store.replace({**updated, "updated_at": now}, entry)
