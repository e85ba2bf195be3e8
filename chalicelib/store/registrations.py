"""Registrations in DynamoDB: the document shape the services and the stream consumers work with, and
the writes that keep a registration, its one-per-user guard and its audit trail together."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition

from chalicelib.store import audit, batch, outbox
from chalicelib.store.audit import AuditEntry
from chalicelib.store.models import (
    ALUMNI_LISTED,
    CATALOGUE_SHARDS,
    REGISTRATION_ACCEPTED,
    REGISTRATION_PENDING,
    MetaModel,
    RegistrationModel,
)
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion, transaction

# The representative's fields that are personal data; stored in `personal`, apart from the profile,
# so the catalogue index (which projects `profile`) never carries them.
PERSONAL_FIELDS = (
    "email",
    "date_of_birth",
    "nationality",
    "residence_country",
    "residence_permit",
    "residence_since",
)
_ID = re.compile(r"reg_[0-9a-f]{32}")


class AlreadyRegistered(Exception):
    """The user already holds a registration."""


def guard_key(user_id: str) -> str:
    return f"registration-of#{user_id}"


AUDIT_KIND = "registration"


def audit_entity(registration_id: str) -> str:
    """The audit trail's key for a registration."""
    return f"{AUDIT_KIND}#{registration_id}"


def subject(registration_id: str) -> str:
    """What the outbox calls a registration."""
    return f"{AUDIT_KIND}:{registration_id}"


def catalogue_key_for(registration_id: str) -> str:
    # A stable hash (not Python's salted hash()) so a registration stays on one shard across processes.
    shard = int.from_bytes(hashlib.sha256(registration_id.encode()).digest()[:4], "big") % CATALOGUE_SHARDS
    return f"{REGISTRATION_ACCEPTED}#{shard}"


def to_document(model: RegistrationModel) -> dict[str, Any]:
    """The API shape plus internal fields (user_id, exchanges, erased_at): what services and stream
    consumers read. The representative's personal fields are merged back in when present."""
    profile: dict[str, Any] = dict(model.profile or {})
    representative = {**(profile.get("representative") or {}), **(model.personal or {})}
    return {
        "id": model.id,
        "user_id": model.user_id,
        "status": model.status,
        "roles": list(model.roles or []),
        "partnership_id": model.partnership_id,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "version": model.version,
        "organisation": profile.get("organisation"),
        "representative": representative,
        "motivation": profile.get("motivation"),
        "preferences": profile.get("preferences"),
        "hosting": profile.get("hosting"),
        "cv": model.cv,
        "decision": model.decision,
        "exchanges": model.exchanges,
        "erased_at": model.erased_at,
        "alumni": model.alumni,
        "reminded_at": model.reminded_at,
    }


def document_from_image(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's raw DynamoDB-JSON image as a document."""
    return to_document(RegistrationModel.from_raw_data(image))


def _to_model(doc: dict[str, Any]) -> RegistrationModel:
    representative = dict(doc.get("representative") or {})
    personal = {name: representative.pop(name) for name in PERSONAL_FIELDS if name in representative}
    profile = {
        "organisation": doc.get("organisation"),
        "representative": representative,
        "motivation": doc.get("motivation"),
        "preferences": doc.get("preferences"),
        "hosting": doc.get("hosting"),
    }
    status = doc["status"]
    alumni = doc.get("alumni")
    listed = bool(alumni) and status == REGISTRATION_ACCEPTED
    # A new registration has no version yet: the first save sets 1 (on condition it does not exist).
    version = {"version": doc["version"]} if doc.get("version") is not None else {}
    return RegistrationModel(
        id=doc["id"],
        user_id=doc["user_id"],
        partnership_id=doc["partnership_id"],
        status=status,
        # Derived here, from status and ids, so no write can leave the queue or catalogue keys stale.
        queue_key=f"{status}#{doc['created_at']}",
        catalogue_key=catalogue_key_for(doc["id"]) if status == REGISTRATION_ACCEPTED else None,
        roles=list(doc["roles"]),
        profile=profile,
        personal=personal or None,
        cv=doc.get("cv"),
        decision=doc.get("decision"),
        exchanges=doc.get("exchanges"),
        erased_at=doc.get("erased_at"),
        alumni=alumni or None,
        # Derived here too, from the entry, the status and the organisation as it is now: a name or
        # country edited, or a withdrawal, moves or removes the entry in the directory's index.
        alumni_key=ALUMNI_LISTED if listed else None,
        alumni_sort=alumni_sort_for(doc.get("organisation"), alumni["id"]) if listed and alumni else None,
        reminded_at=doc.get("reminded_at"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        **version,
    )


ALUMNI_NAME_CHARS = 100  # of the folded name in the directory's sort key (a key holds 1 KB at most)


def alumni_sort_for(organisation: dict[str, Any] | None, entry_id: str) -> str:
    """The directory's order: by country, then organisation name (case-folded), then the entry's id."""
    organisation = organisation or {}
    name = str(organisation.get("name") or "").casefold()[:ALUMNI_NAME_CHARS]
    return f"{organisation.get('country') or ''}#{name}#{entry_id}"


def new_id() -> str:
    return f"reg_{uuid.uuid4().hex}"


def is_registration_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def get(registration_id: str) -> dict[str, Any] | None:
    # An id this service never issues cannot exist; asking DynamoDB anyway would let an over-long key
    # turn into a validation error instead of a 404.
    if not is_registration_id(registration_id):
        return None
    try:
        return to_document(RegistrationModel.get(registration_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_many(registration_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Several registrations in one strongly consistent BatchGetItem, by id (missing ones left out)."""
    wanted = [r for r in registration_ids if is_registration_id(r)]
    found = batch.get_items({RegistrationModel: wanted})[RegistrationModel]
    return {key: to_document(model) for key, model in found.items()}


def registration_id_for_user(user_id: str) -> str | None:
    """The id of the user's registration, from its uniqueness guard (strongly consistent, where the
    by_user index could miss a registration made a moment ago)."""
    try:
        return MetaModel.get(guard_key(user_id), consistent_read=True).ref or None
    except DoesNotExist:
        return None


def get_for_user(user_id: str) -> dict[str, Any] | None:
    """The user's registration, through the uniqueness guard: two strongly consistent reads."""
    registration_id = registration_id_for_user(user_id)
    return get(registration_id) if registration_id else None


def create(doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> dict[str, Any]:
    """Insert a registration with its guard, first audit entry and what creating it causes (outbox
    items); AlreadyRegistered if the user has one."""
    model = _to_model({**doc, "version": None})
    guard = MetaModel(pk=guard_key(doc["user_id"]), ref=doc["id"], updated_at=doc["created_at"])
    try:
        with transaction() as tx:
            tx.save(guard, condition=MetaModel.pk.does_not_exist())
            tx.save(model, condition=RegistrationModel.id.does_not_exist())
            tx.save(audit.to_model(entry))
            outbox.stage(tx, subject(doc["id"]), 1, effects)
    except StaleVersion as exc:
        raise AlreadyRegistered(doc["user_id"]) from exc
    return to_document(model)


def replace(
    doc: dict[str, Any],
    entry: AuditEntry,
    *,
    release_guard_of: str | None = None,
    effects: tuple[Effect, ...] = (),
) -> dict[str, Any]:
    """Write the whole registration if it is still at `doc["version"]`, with an audit entry and the
    effects the change causes (outbox items, in the same transaction); returns the stored document
    (version incremented). `release_guard_of` also deletes that user's uniqueness guard. StaleVersion
    when another write came first."""
    model = _to_model(doc)
    with transaction() as tx:
        tx.save(model)  # the VersionAttribute adds "version = <read version>" and increments it
        tx.save(audit.to_model(entry))
        outbox.stage(tx, subject(doc["id"]), (doc.get("version") or 0) + 1, effects)
        if release_guard_of is not None:
            tx.delete(MetaModel(pk=guard_key(release_guard_of)), add_version_condition=False)
    return to_document(model)


def pending_unreminded(partnership_id: str, created_by: date) -> list[str]:
    """Ids of the partnership's pending registrations created on or before `created_by` that it was not
    reminded of yet, oldest first: the pending part of its queue up to that day (one Query of the
    by_partnership index, whose keys start with the status and the creation time), the ones reminded
    of already filtered out (a decision takes a registration out of the range)."""
    pending = f"{REGISTRATION_PENDING}#"
    query = RegistrationModel.by_partnership.query(
        partnership_id,
        # "~" sorts after every character of a time: the whole of that day is in.
        range_key_condition=RegistrationModel.queue_key.between(
            pending, f"{pending}{created_by.isoformat()}~"
        ),
        filter_condition=RegistrationModel.reminded_at.does_not_exist(),
    )
    return [m.id for m in query]


def list_by_partnership(
    partnership_id: str, status: str | None, limit: int, after: tuple[str, str] | None
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of a partnership's registrations, oldest first within a status (all statuses when None).

    `after` is (id, queue_key) of the last item of the previous page. One more item than asked for is
    read, so the last page says so instead of handing out a cursor to an empty page.
    """
    condition = RegistrationModel.queue_key.startswith(f"{status}#") if status else None
    start = None
    if after is not None:
        start = {
            "id": {"S": after[0]},
            "partnership_id": {"S": partnership_id},
            "queue_key": {"S": after[1]},
        }
    results = RegistrationModel.by_partnership.query(
        partnership_id,
        range_key_condition=condition,
        scan_index_forward=True,
        limit=limit + 1,
        page_size=limit + 1,
        last_evaluated_key=start,
    )
    models = list(results)
    page = models[:limit]
    next_after = (page[-1].id, page[-1].queue_key) if len(models) > limit else None
    return [to_document(m) for m in page], next_after


def find_for_user(user_id: str) -> dict[str, Any] | None:
    """The user's registration in one Query of the by_user index (eventually consistent).

    For the read-heavy routes (matches, catalogue) that must stay within two AWS calls; a
    registration is accepted long after it is created, so the index has caught up by then.
    """
    for item in RegistrationModel.by_user.query(user_id, limit=1):
        return to_document(item)
    return None


def all_of_partnership_in(partnership_id: str, status: str) -> list[dict[str, Any]]:
    """Every registration of the partnership in this status, oldest first (one Query, read to its end)."""
    condition = RegistrationModel.queue_key.startswith(f"{status}#")
    query = RegistrationModel.by_partnership.query(partnership_id, range_key_condition=condition)
    return [to_document(m) for m in query]


def alumni_page(
    country: str | None, after: str | None, limit: int, keep: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the alumni directory (in one country, or all), in its order, of the entries `keep`
    accepts: Queries of its sparse index from `after` (the sort key of the last entry shown), reading on
    until the page is full or the index ends; one more entry than asked is looked for, so the last page
    hands out no cursor."""
    prefix = f"{country}#" if country else ""
    condition: Condition | None = None
    if after is not None:
        condition = RegistrationModel.alumni_sort > after
    elif country:
        condition = RegistrationModel.alumni_sort.startswith(prefix)
    query = RegistrationModel.alumni_directory.query(
        ALUMNI_LISTED, range_key_condition=condition, page_size=limit + 1
    )
    found: list[dict[str, Any]] = []
    for model in query:
        if not str(model.alumni_sort).startswith(prefix):
            break  # past the country's entries
        entry = {
            "id": model.id,
            "status": model.status,
            "organisation": (model.profile or {}).get("organisation") or {},
            "exchanges": model.exchanges or {},
            "alumni": model.alumni or {},
            "alumni_sort": model.alumni_sort,
        }
        if keep(entry):
            found.append(entry)
        if len(found) > limit:
            break
    page = found[:limit]
    return page, (str(page[-1]["alumni_sort"]) if len(found) > limit else None)
