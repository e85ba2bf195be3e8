"""A contact request's life: its statuses and who may move it. Pure: no AWS, no I/O."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.rules.lifecycle import Lifecycle, transition


class ContactRequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


PENDING, ACCEPTED, DECLINED = ContactRequestStatus

# Parties: "sender" and "recipient" (the users behind the two registrations). Only the recipient answers.
LIFECYCLE = Lifecycle(
    name="contact request",
    statuses=ContactRequestStatus,
    subjects=frozenset(),
    transitions=(
        transition("accept", [PENDING], ["recipient"], ACCEPTED),
        transition("decline", [PENDING], ["recipient"], DECLINED),
    ),
    wrong_status_code="NOT_PENDING",
    labels={"accept": "accept the contact request", "decline": "decline the contact request"},
)
