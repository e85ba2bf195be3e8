"""The audit trail: who did what to which entity, and when. Entries are written alongside the change
they describe (in the same transaction where the store can) and never rewritten."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.store.models import AuditModel


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One entry. It names fields that changed, never their values, so it holds no personal data
    beyond the actor's user id."""

    entity: str  # "<kind>#<id>"
    at: str
    actor: str
    action: str
    actor_role: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    fields: tuple[str, ...] = ()


# The actor of changes no user made (an upload's check, a scheduled step, a stream consumer).
SYSTEM_ROLE = "system"
# Which of a user's roles an entry names when the action does not say: the most accountable first.
_ROLE_ORDER = ("admin", "support", "partnership", "finance", "participant")


def entry(
    kind: str,
    entity_id: str,
    action: str,
    *,
    actor: str,
    roles: frozenset[str] | tuple[str, ...] | None,
    at: str,
    from_status: str | None = None,
    to_status: str | None = None,
    fields: tuple[str, ...] = (),
    as_role: str | None = None,
) -> AuditEntry:
    """The one way an audit entry is made. `roles` None means a system actor; `as_role` names the role
    the actor acted in where the action implies it (a partnership's decision)."""
    role = as_role or (
        SYSTEM_ROLE if roles is None else next((r for r in _ROLE_ORDER if r in roles), "unknown")
    )
    return AuditEntry(
        entity=f"{kind}#{entity_id}",
        at=at,
        actor=actor,
        actor_role=role,
        action=action,
        from_status=None if from_status is None else str(from_status),
        to_status=None if to_status is None else str(to_status),
        fields=fields,
    )


def to_model(entry: AuditEntry) -> AuditModel:
    return AuditModel(
        entity=entry.entity,
        # The random suffix keeps two entries of the same millisecond apart without reordering them.
        at_key=f"{entry.at}#{uuid.uuid4().hex[:8]}",
        at=entry.at,
        actor=entry.actor,
        actor_role=entry.actor_role,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        fields=list(entry.fields) or None,
    )


def record(entry: AuditEntry) -> None:
    """Write an entry on its own, for changes that have no item of ours to write with it."""
    to_model(entry).save()


def entries_for(entity: str) -> list[dict[str, Any]]:
    """The entity's trail, oldest first."""
    return [
        {
            "at": item.at,
            "actor": item.actor,
            "actor_role": item.actor_role,
            "action": item.action,
            "from_status": item.from_status,
            "to_status": item.to_status,
            "fields": list(item.fields or []),
        }
        for item in AuditModel.query(entity, scan_index_forward=True)
    ]
