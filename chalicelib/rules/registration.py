"""A registration's life after it is made: its statuses, what a partnership's decision needs, and what
withdrawal keeps of it (the erasure policy). Pure: no AWS, no I/O."""

from __future__ import annotations

import copy
import hashlib
from enum import StrEnum
from typing import Any, Literal

from chalicelib.rules import RuleViolation
from chalicelib.rules.lifecycle import Lifecycle, transition


class RegistrationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PENDING, ACCEPTED, REJECTED, WITHDRAWN = RegistrationStatus
STATUSES = tuple(RegistrationStatus)
_LIVE = (PENDING, ACCEPTED, REJECTED)

# What steps cause (chalicelib.rules.lifecycle `effects`): written with the change, delivered after it by
# the effects dispatcher, which reads the registration as stored.
TELL_DECISION = "tell_registration_decision"  # the applicant is told, while the decision still holds
CARRY_OUT_WITHDRAWAL = "carry_out_withdrawal"  # its exchanges and contact requests left (see withdrawn)
TELL_RECEIVED = "tell_registration_received"  # its partnership, while it still waits for the decision
# A registration is created pending, by no action of the table (there is no status to move it from):
# what creating one causes is declared here.
ON_CREATE = (TELL_RECEIVED,)

# Parties: the registration's "owner" (its user) and "partnership" (an officer of the partnership it
# names). A decision is the partnership's; a user who is both may not decide on their own registration.
# Decision: edits never change the status (an accepted registration stays in the catalogue: its
# partnership vetted the organisation, not every word of its profile); a rejected one stays rejected:
# to apply again, withdraw and register anew.
LIFECYCLE = Lifecycle(
    name="registration",
    statuses=RegistrationStatus,
    subjects=frozenset({"owner"}),
    transitions=(
        transition("accept", [PENDING], ["partnership"], ACCEPTED, oversight=True, effects=[TELL_DECISION]),
        transition("reject", [PENDING], ["partnership"], REJECTED, oversight=True, effects=[TELL_DECISION]),
        transition("edit", _LIVE, ["owner"], None),
        transition("upload_cv", _LIVE, ["owner"], None),
        transition("withdraw", _LIVE, ["owner"], WITHDRAWN, effects=[CARRY_OUT_WITHDRAWAL]),
    ),
    wrong_status_code="NOT_PENDING",
    labels={
        "accept": "accept the registration",
        "reject": "reject the registration",
        "edit": "edit the registration",
        "upload_cv": "upload a CV",
        "withdraw": "withdraw the registration",
    },
)

Decision = Literal["accept", "reject"]

ERASED = "erased"
# Decision: the pseudonym is a plain SHA-256 of the user id under a fixed prefix. It lets the programme
# link a withdrawn registration to later payments and audit entries of the same user (who holds the
# user id), and to no one else; a keyed hash would need a secret this stack does not have yet.
_PSEUDONYM_PREFIX = "clusterxchange-registration-owner:"

# What withdrawal keeps of the organisation: what identifies the legal entity for payments and audits
# (its name, type, country, cluster and seat, which the distance rule of a lump sum needs). Free text
# (description, expertise, website) can name people and goes.
KEPT_ORGANISATION_FIELDS = ("name", "type", "country", "city", "location", "cluster_name")


def check_decision(decision: Decision, reason: str | None) -> None:
    if decision == "reject" and not (reason or "").strip():
        raise RuleViolation("REASON_REQUIRED", "a rejection must give the applicant a reason", "reason")


def pseudonym(user_id: str) -> str:
    return "pseudo_" + hashlib.sha256((_PSEUDONYM_PREFIX + user_id).encode()).hexdigest()


def withdrawn(doc: dict[str, Any], at: str) -> dict[str, Any]:
    """The registration as kept after its owner withdraws: personal data erased, the owner pseudonymised,
    out of the alumni directory, the organisation's identity, the decision and the exchanges kept
    (payments and audits need them)."""
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
        # Out of the alumni directory at once: its entry shows a contact address the person chose.
        alumni=None,
        erased_at=at,
        updated_at=at,
    )
    return kept
