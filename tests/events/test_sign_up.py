"""Cognito's post-confirmation trigger against the emulator's user pool: who signs up alone becomes a
participant; a password reset changes nothing."""

from __future__ import annotations

import boto3
import pytest

import app as app_module


@pytest.fixture
def idp():
    return boto3.client("cognito-idp", region_name="eu-west-1")


def _sign_up(idp, aws, email: str) -> str:
    idp.sign_up(
        ClientId=aws.app_client_id,
        Username=email,
        Password="Sign-up-Passw0rd!",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    idp.admin_confirm_sign_up(UserPoolId=aws.user_pool_id, Username=email)
    return idp.admin_get_user(UserPoolId=aws.user_pool_id, Username=email)["Username"]


def _trigger(aws, username: str, source: str) -> dict:
    # What Cognito sends the function (the emulator does not invoke triggers itself).
    return {
        "version": "1",
        "region": "eu-west-1",
        "userPoolId": aws.user_pool_id,
        "userName": username,
        "callerContext": {"clientId": aws.app_client_id},
        "triggerSource": source,
        "request": {"userAttributes": {"email": "new@acme.example", "email_verified": "true"}},
        "response": {},
    }


def _groups(idp, aws, username: str) -> list[str]:
    groups = idp.admin_list_groups_for_user(UserPoolId=aws.user_pool_id, Username=username)["Groups"]
    return sorted(g["GroupName"] for g in groups)


def test_a_confirmed_sign_up_joins_participant(aws, idp):
    # Given a user who signed up and confirmed, in no group yet
    username = _sign_up(idp, aws, "new@acme.example")
    assert _groups(idp, aws, username) == []
    event = _trigger(aws, username, "PostConfirmation_ConfirmSignUp")
    # When Cognito calls the trigger
    answer = app_module.on_user_confirmed(event, None)
    # Then the user is a participant, and Cognito gets its event back
    assert _groups(idp, aws, username) == ["participant"]
    assert answer == event


def test_a_retried_trigger_leaves_one_membership(aws, idp):
    username = _sign_up(idp, aws, "twice@acme.example")
    event = _trigger(aws, username, "PostConfirmation_ConfirmSignUp")
    app_module.on_user_confirmed(event, None)
    app_module.on_user_confirmed(event, None)
    assert _groups(idp, aws, username) == ["participant"]


def test_a_password_reset_changes_no_group(aws, idp):
    username = _sign_up(idp, aws, "forgot@acme.example")
    app_module.on_user_confirmed(_trigger(aws, username, "PostConfirmation_ConfirmForgotPassword"), None)
    assert _groups(idp, aws, username) == []
