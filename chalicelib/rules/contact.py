"""Who may send a contact request to whom (RULES.md, "Matching and contact")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.rules import RuleViolation

MAX_OPEN_REQUESTS = 5


def _roles(registration: Mapping[str, Any]) -> set[str]:
    return set(registration.get("roles") or [])


def _country(registration: Mapping[str, Any]) -> str:
    return str((registration.get("organisation") or {}).get("country") or "")


def _visited(registration: Mapping[str, Any]) -> bool:
    return bool((registration.get("exchanges") or {}).get("visited"))


def contact_pairing(sender: Mapping[str, Any], recipient: Mapping[str, Any]) -> tuple[str, str]:
    """Which side is the visitor: returns (visitor id, host id) or raises the rule broken.

    A visitor contacts hosts and a host contacts visitors, always across a border; a visitor who
    already visited takes no part in a new pairing.
    """
    if sender.get("id") == recipient.get("id"):
        raise RuleViolation("CANNOT_CONTACT_SELF", "You cannot send a contact request to yourself.", "to")
    if _country(sender) == _country(recipient):
        raise RuleViolation(
            "SAME_COUNTRY",
            "Visitor and host must be in different countries (a transnational exchange).",
            "to",
        )
    sender_roles, recipient_roles = _roles(sender), _roles(recipient)
    if "visitor" in sender_roles and "host" in recipient_roles:
        visitor, host = sender, recipient
    elif "host" in sender_roles and "visitor" in recipient_roles:
        visitor, host = recipient, sender
    else:
        raise RuleViolation(
            "ROLES_DO_NOT_MATCH", "A contact request goes from a visitor to a host or back.", "to"
        )
    if _visited(visitor):
        raise RuleViolation(
            "VISITOR_ALREADY_VISITED",
            "The visitor already has an exchange; a visitor visits only once.",
            "to",
        )
    return str(visitor["id"]), str(host["id"])


def check_open_requests(open_sent: int) -> None:
    if open_sent >= MAX_OPEN_REQUESTS:
        raise RuleViolation(
            "TOO_MANY_OPEN_REQUESTS",
            f"You already have {MAX_OPEN_REQUESTS} open contact requests; wait for answers first.",
        )
