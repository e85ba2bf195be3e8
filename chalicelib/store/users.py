"""Users live in Cognito; this is the only code that changes them."""

from __future__ import annotations

from chalicelib.store.aws import client


def add_to_group(user_pool_id: str, username: str, group: str) -> None:
    # Idempotent in Cognito: adding a member again changes nothing, so a retried trigger is harmless.
    client("cognito-idp").admin_add_user_to_group(UserPoolId=user_pool_id, Username=username, GroupName=group)
