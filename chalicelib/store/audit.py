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
