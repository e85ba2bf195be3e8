"""A registration's life after it is made: its statuses, what a partnership's decision needs, and what
withdrawal keeps of it (the erasure policy). Pure: no AWS, no I/O."""

from __future__ import annotations

import copy
import hashlib
from typing import Any, Literal

from chalicelib.rules import RuleViolation

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATUSES = (PENDING, ACCEPTED, REJECTED, WITHDRAWN)

Decision = Literal["accept", "reject"]
_OUTCOME: dict[str, str] = {"accept": ACCEPTED, "reject": REJECTED}

ERASED = "erased"
# Decision: the pseudonym is a plain SHA-256 of the user id under a fixed prefix. It lets the programme
# link a withdrawn registration to later payments and audit entries of the same user (who holds the
# user id), and to no one else; a keyed hash would need a secret this stack does not have yet.
_PSEUDONYM_PREFIX = "clusterxchange-registration-owner:"

# What withdrawal keeps of the organisation: what identifies the legal entity for payments and audits
# (its name, type, country, cluster and seat, which the distance rule of a lump sum needs). Free text
# (description, expertise, website) can name people and goes.
KEPT_ORGANISATION_FIELDS = ("name", "type", "country", "city", "location", "cluster_name")


def may_decide(status: str) -> bool:
    """Only a pending registration is decided; a decision is final (withdraw and register again)."""
    return status == PENDING


def check_decision(decision: Decision, reason: str | None) -> None:
    if decision == "reject" and not (reason or "").strip():
        raise RuleViolation("REASON_REQUIRED", "a rejection must give the applicant a reason", "reason")


def outcome(decision: Decision) -> str:
    return _OUTCOME[decision]


def pseudonym(user_id: str) -> str:
    return "pseudo_" + hashlib.sha256((_PSEUDONYM_PREFIX + user_id).encode()).hexdigest()


def withdrawn(doc: dict[str, Any], at: str) -> dict[str, Any]:
    """The registration as kept after its owner withdraws: personal data erased, the owner pseudonymised,
    the organisation's identity, the decision and the exchanges kept (payments and audits need them)."""
    kept = copy.deepcopy(doc)
    organisation = kept.get("organisation") or {}
    kept.update(
        status=WITHDRAWN,
        user_id=pseudonym(doc["user_id"]),
        organisation={name: organisation.get(name) for name in KEPT_ORGANISATION_FIELDS},
        representative={"first_name": ERASED, "last_name": ERASED, "languages": []},
        motivation=ERASED,
        preferences=None,
        hosting=None,
        cv=None,
        erased_at=at,
        updated_at=at,
    )
    return kept
