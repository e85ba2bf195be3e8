"""Who may send a contact request to whom (RULES.md, "Matching and contact"): the pairing rules
(rules.pairing, shared with matching) and the limit on open requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.rules import RuleViolation, pairing

MAX_OPEN_REQUESTS = 5


def contact_pairing(sender: Mapping[str, Any], recipient: Mapping[str, Any]) -> tuple[str, str]:
    """Which side is the visitor: returns (visitor id, host id) or raises the rule broken.

    A visitor contacts hosts and a host contacts visitors, always across a border; a visitor who
    already visited takes no part in a new pairing. When both ways are open the sender visits.
    """
    if sender.get("id") == recipient.get("id"):
        raise RuleViolation("CANNOT_CONTACT_SELF", "You cannot send a contact request to yourself.", "to")
    visitor, host = pairing.check(pairing.Party.of(sender), pairing.Party.of(recipient), field="to")
    return visitor.id, host.id


def check_open_requests(open_sent: int) -> None:
    if open_sent >= MAX_OPEN_REQUESTS:
        raise RuleViolation(
            "TOO_MANY_OPEN_REQUESTS",
            f"You already have {MAX_OPEN_REQUESTS} open contact requests; wait for answers first.",
        )
