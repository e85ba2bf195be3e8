"""ID tokens for local users, issued by the emulator's Cognito user pool (creating the user if needed)."""

from __future__ import annotations

from typing import Any

# The emulator's users exist only on this machine; a shared local password keeps `token` simple.
LOCAL_PASSWORD = "Local-Only-Passw0rd!"


def issue_token(
    idp: Any, pool_id: str, client_id: str, email: str, role: str, partnership_id: str | None = None
) -> str:
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    if partnership_id:
        attributes.append({"Name": "custom:partnership_id", "Value": partnership_id})
    try:
        idp.admin_create_user(
            UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    except idp.exceptions.UsernameExistsException:
        if partnership_id:
            idp.admin_update_user_attributes(
                UserPoolId=pool_id,
                Username=email,
                UserAttributes=[{"Name": "custom:partnership_id", "Value": partnership_id}],
            )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=LOCAL_PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=role)
    result = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": LOCAL_PASSWORD},
    )
    return str(result["AuthenticationResult"]["IdToken"])
