"""A support query's life: what a question may be about, its statuses and who may move it. Pure: no AWS,
no I/O.

Parties: the "asker" (the user who asked, whatever their role) and "support" (an officer of the support
office). Decisions: support answers (again, if need be: a correction, a second part), and each answer
is mailed to the asker; the asker may write back, which opens the query again for support; either
side closes it, and a closed query stays closed (a new question is a new query). A support officer
never answers their own query: another officer does (they write to it as its asker).
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.rules.lifecycle import Lifecycle, transition


class SupportQueryStatus(StrEnum):
    OPEN = "open"  # waits for support
    ANSWERED = "answered"  # support answered; the asker may write back or close it
    CLOSED = "closed"


OPEN, ANSWERED, CLOSED = SupportQueryStatus

# What a question is about (API.md "Support, finance, statistics").
CATEGORIES = ("general", "registration", "matching", "exchange", "payment", "technical")

ASKER, SUPPORT = "asker", "support"

# What an answer causes (chalicelib.rules.lifecycle `effects`): written with it, delivered after it by
# the effects dispatcher, which reads the query as stored and mails the answer the item names.
TELL_ANSWERED = "tell_support_answered"

LIFECYCLE = Lifecycle(
    name="support query",
    statuses=SupportQueryStatus,
    subjects=frozenset({ASKER}),
    transitions=(
        transition("answer", [OPEN, ANSWERED], [SUPPORT], ANSWERED, oversight=True, effects=[TELL_ANSWERED]),
        transition("follow_up", [OPEN, ANSWERED], [ASKER], OPEN),
        transition("close", [OPEN, ANSWERED], [ASKER, SUPPORT], CLOSED),
    ),
    wrong_status_code="INVALID_STATUS",
    labels={
        "answer": "answer the support query",
        "follow_up": "write to the support query",
        "close": "close the support query",
    },
)


def reply_action(parties: frozenset[str] | set[str]) -> str:
    """What a reply is for the one who writes it: the asker's words are a follow-up (whatever other role
    they hold), anyone else's an answer (the table refuses it to whoever may not answer)."""
    return "follow_up" if ASKER in parties else "answer"
