"""Users' accounts: what happens when someone signs up."""

from __future__ import annotations

from chalicelib.store import users as store

# Everyone who signs up alone is a participant; the other roles are given by an administrator.
SELF_SIGN_UP_ROLE = "participant"


def enrol_self_signed_up(user_pool_id: str, username: str) -> None:
    """A user who confirmed their own sign-up becomes a participant (else every participant route
    would refuse them: roles are the token's groups)."""
    store.add_to_group(user_pool_id, username, SELF_SIGN_UP_ROLE)
