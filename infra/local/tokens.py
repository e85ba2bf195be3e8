"""ID tokens for local users, issued by the emulator's Cognito user pool (creating the user if needed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The emulator's users exist only on this machine; a shared local password keeps `token` simple.
LOCAL_PASSWORD = "Local-Only-Passw0rd!"


def partnership_problem(role: str, partnership_id: str | None, known: Iterable[str]) -> str | None:
    """Why `token` must refuse these options (None: it need not): a token naming a partnership the
    stack does not have would pass the token check and fail every partnership route."""
    known = sorted(known)
    if role == "partnership" and not partnership_id:
        return "--partnership ID is required with --role partnership"
    if partnership_id and partnership_id not in known:
        listed = ", ".join(known) or "none"
        return f"no partnership {partnership_id!r} in the running stack (it has: {listed})"
    return None


def issue_token(
    idp: Any,
    pool_id: str,
    client_id: str,
    email: str,
    role: str,
    partnership_id: str | None = None,
    also_roles: tuple[str, ...] = (),
) -> str:
    """A token for `email` with `role` (and `also_roles`: one person holding two roles, as the tests of
    conflicts of interest need) and no other role."""
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    if partnership_id:
        attributes.append({"Name": "custom:partnership_id", "Value": partnership_id})
    try:
        idp.admin_create_user(
            UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    except idp.exceptions.UsernameExistsException:
        # The user becomes what this call asks for, and only that: the role of an earlier call (and its
        # partnership) would stay in the token beside the new one.
        if partnership_id:
            idp.admin_update_user_attributes(
                UserPoolId=pool_id,
                Username=email,
                UserAttributes=[{"Name": "custom:partnership_id", "Value": partnership_id}],
            )
        else:
            user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
            if any(a["Name"] == "custom:partnership_id" for a in user.get("UserAttributes", [])):
                idp.admin_delete_user_attributes(
                    UserPoolId=pool_id, Username=email, UserAttributeNames=["custom:partnership_id"]
                )
        for group in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]:
            if group["GroupName"] not in (role, *also_roles):
                idp.admin_remove_user_from_group(
                    UserPoolId=pool_id, Username=email, GroupName=group["GroupName"]
                )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=LOCAL_PASSWORD, Permanent=True)
    for group_name in (role, *also_roles):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group_name)
    result = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": LOCAL_PASSWORD},
    )
    return str(result["AuthenticationResult"]["IdToken"])
