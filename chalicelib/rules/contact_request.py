"""A contact request's life: its statuses and who may move it. Pure: no AWS, no I/O."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.rules.lifecycle import Lifecycle, transition


class ContactRequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


PENDING, ACCEPTED, DECLINED = ContactRequestStatus

# What a request causes (chalicelib.rules.lifecycle `effects`): written with the change, delivered after
# it by the effects dispatcher, which reads the request as stored.
TELL_RECEIVED = "tell_contact_request_received"  # the recipient, while the request is still pending
TELL_ANSWERED = "tell_contact_request_answered"  # the sender, of the answer it got
# A request is created pending, by no action of the table (there is no status to move it from): what
# creating one causes is declared here.
ON_CREATE = (TELL_RECEIVED,)

# Parties: "sender" and "recipient" (the users behind the two registrations). Only the recipient answers.
LIFECYCLE = Lifecycle(
    name="contact request",
    statuses=ContactRequestStatus,
    subjects=frozenset(),
    transitions=(
        transition("accept", [PENDING], ["recipient"], ACCEPTED, effects=[TELL_ANSWERED]),
        transition("decline", [PENDING], ["recipient"], DECLINED, effects=[TELL_ANSWERED]),
    ),
    wrong_status_code="NOT_PENDING",
    labels={"accept": "accept the contact request", "decline": "decline the contact request"},
)
