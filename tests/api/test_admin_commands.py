"""`python -m infra.admin`: the first admin of a deployed stack, made in the emulator's user pool and
found through the stack's outputs (or its resources), and a CSV of partnerships imported through the
admin API."""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from chalicelib.services import reference as reference_service
from chalicelib.settings import settings_from
from infra import admin
from infra.seed import example_partnerships
from tests.api.conftest import auth

REGION = "eu-west-1"
ADDRESS = "first.admin@programme.example"
BOOTSTRAP = ["bootstrap", "--stack", "cxc-test", "--email", ADDRESS, "--region", REGION]


@pytest.fixture(autouse=True)
def no_cached_partnerships() -> Iterator[None]:
    reference_service.forget_cache()
    yield
    reference_service.forget_cache()


def _stack(name: str, outputs: dict[str, str]) -> Any:
    """A stack with one resource of no consequence and the outputs given."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-marker"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    return cloudformation


def test_bootstrap_makes_the_first_admin_in_the_stacks_user_pool_who_can_then_manage_partnerships(
    aws, client
):
    # Given a stack whose outputs name the emulator's user pool
    _stack("cxc-test", {"UserPoolId": aws.user_pool_id})
    out = io.StringIO()
    # When
    code = admin.main(BOOTSTRAP, out)
    # Then the user is in the admin group, and told what to do next
    assert code == 0
    idp = boto3.client("cognito-idp", region_name=REGION)
    groups = idp.admin_list_groups_for_user(UserPoolId=aws.user_pool_id, Username=ADDRESS)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]
    printed = out.getvalue()
    assert f"Admin {ADDRESS} created in user pool {aws.user_pool_id}" in printed
    assert "import-partnerships --stack cxc-test" in printed
    # and once signed in (the emulator mails nothing: the password is set here) may create a partnership
    password = "A-new-Passw0rd!"
    idp.admin_set_user_password(
        UserPoolId=aws.user_pool_id, Username=ADDRESS, Password=password, Permanent=True
    )
    signed_in = idp.admin_initiate_auth(
        UserPoolId=aws.user_pool_id,
        ClientId=aws.app_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": ADDRESS, "PASSWORD": password},
    )
    token = signed_in["AuthenticationResult"]["IdToken"]
    item = admin.rows(io.StringIO(_csv(example_partnerships()[:1])))[0]
    assert client.http.post("/v1/partnerships", headers=auth(token), body=json.dumps(item)).status_code == 201
    # A second run changes nothing but says so
    again = io.StringIO()
    assert (
        admin.main(["bootstrap", "--stack", "cxc-test", "--email", ADDRESS, "--region", REGION], again) == 0
    )
    assert "already existed" in again.getvalue()


class _StackWithoutOutputs:
    """A stack deployed before the pool was an output: moto's CloudFormation cannot make a pool, so its
    resources are listed by this stand-in."""

    def __init__(self, pool_id: str) -> None:
        self.pool_id = pool_id

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackName": StackName, "Outputs": []}]}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_stack_resources"
        resources = [
            {"ResourceType": "AWS::SQS::Queue", "PhysicalResourceId": "q"},
            {"ResourceType": "AWS::Cognito::UserPool", "PhysicalResourceId": self.pool_id},
        ]
        return SimpleNamespace(paginate=lambda StackName: [{"StackResourceSummaries": resources}])


def test_bootstrap_finds_the_pool_among_the_stacks_resources_when_no_output_names_it(aws):
    idp = boto3.client("cognito-idp", region_name=REGION)
    # When
    done = admin.bootstrap(_StackWithoutOutputs(aws.user_pool_id), idp, "cxc-old", ADDRESS)
    # Then
    assert done.user_pool_id == aws.user_pool_id and done.created
    groups = idp.admin_list_groups_for_user(UserPoolId=aws.user_pool_id, Username=ADDRESS)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]


def test_bootstrap_of_an_unknown_stack_says_so(aws):
    out = io.StringIO()
    assert admin.main(["bootstrap", "--stack", "nope", "--email", ADDRESS, "--region", REGION], out) == 2
    assert out.getvalue().startswith("error: No stack 'nope'")


def _csv(drafts: Any, **changes: dict[str, str]) -> str:
    """The drafts as the import's CSV; `changes` replaces cells of the row of that id (a keyword)."""
    text = io.StringIO()
    text.write(",".join(admin.CSV_COLUMNS) + "\n")
    for d in drafts:
        row = {
            "id": d.id,
            "name": d.name,
            "ecosystems": ";".join(d.ecosystems),
            "countries": ";".join(d.countries),
            "contact_points": "; ".join(f"{cp.name} <{cp.email}>" for cp in d.contact_points),
            "debtor_holder": d.debtor_account["holder"],
            "debtor_iban": d.debtor_account["iban"],
            "debtor_bic": d.debtor_account["bic"],
            "finance_email": d.finance_email,
            **changes.get(d.id, {}),
        }
        text.write(",".join(f'"{row[c]}"' for c in admin.CSV_COLUMNS) + "\n")
    return text.getvalue()


def _through(client: Any, token: str) -> admin.Send:
    """The import's requests answered by the app, as the deployed API would."""

    def send(method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call = getattr(client.http, method.lower())
        response = call(path, headers=auth(token), body=json.dumps(body))
        return response.status_code, json.loads(response.body)

    return send


def test_a_csv_import_creates_every_valid_row_refuses_the_others_and_edits_on_a_second_run(client, token):
    # Given the six example partnerships as a CSV, one of them with an IBAN whose check digits are wrong
    admin_token = token("root@programme.example", "admin")
    drafts = example_partnerships()
    bad = _csv(drafts, cloth={"debtor_iban": "IT00H0306909400000100437263"})
    # When
    outcomes = admin.import_partnerships(admin.rows(io.StringIO(bad)), _through(client, admin_token))
    # Then
    assert [(o.id, o.result) for o in outcomes] == [
        (d.id, "refused" if d.id == "cloth" else "created") for d in drafts
    ]
    assert "INVALID_IBAN" in outcomes[4].detail and "debtor_account.iban" in outcomes[4].detail
    listed = json.loads(client.http.get("/v1/partnerships").body)["items"]
    assert sorted(p["id"] for p in listed) == sorted(d.id for d in drafts if d.id != "cloth")
    epix = json.loads(client.http.get("/v1/partnerships/epix", headers=auth(admin_token)).body)
    assert epix["contact_points"][1] == {"name": "Paolo Ferri", "email": "office@epix.example"}
    # When the fixed file is imported again
    again = admin.import_partnerships(admin.rows(io.StringIO(_csv(drafts))), _through(client, admin_token))
    # Then the refused row is created and the others edited (to what they were)
    assert {o.result for o in again if o.id != "cloth"} == {"updated"}
    assert next(o.result for o in again if o.id == "cloth") == "created"


def test_a_csv_without_a_column_or_with_a_bad_contact_point_is_refused_before_anything_is_sent():
    with pytest.raises(admin.AdminError, match="no column finance_email"):
        admin.rows(
            io.StringIO("id,name,ecosystems,countries,contact_points,debtor_holder,debtor_iban,debtor_bic\n")
        )
    bad = _csv(example_partnerships()[:1], epix={"contact_points": "Marta, marta@epix.example"})
    with pytest.raises(admin.AdminError, match="line 2: a contact point is 'Name <email>'"):
        admin.rows(io.StringIO(bad))


def test_the_recount_names_the_tables_of_the_stage_asked_for_before_the_app_reads_its_settings(monkeypatch):
    # Given an environment the command may change (a fresh process's, in real use)
    environ = dict(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    # When
    admin._use_stage(argparse.Namespace(stage="prod", region="eu-central-1", endpoint_url=None))
    # Then the app's settings, read after, name the stage's tables in that region
    assert settings_from(environ).table_name("statistics") == "cxc-prod-statistics"
    assert settings_from(environ).region == "eu-central-1"
