"""The packaged template (Chalice's output with infra.template merged in), for each stage: everything
the service needs in AWS is declared, with the settings the issue asks for, and cfn-lint accepts it."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib import permissions
from chalicelib.auth import ROLES
from chalicelib.settings import _ENV, Settings, settings_from
from infra import package, template
from infra.resources import GATEWAY_RESPONSES, Resources

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["dev", "prod"])
def packaged(request, tmp_path_factory) -> tuple[str, Path, dict[str, Any]]:
    stage = request.param
    path = package.build_template(stage, tmp_path_factory.mktemp(stage))
    return stage, path, json.loads(path.read_text(encoding="utf-8"))


def _of_type(sam: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in sam["Resources"].items() if r["Type"] == kind}


def _settings(stage: str) -> Settings:
    return settings_from(template.stage_environment(stage))


def test_cfn_lint_finds_nothing(packaged):
    _, path, _ = packaged
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint, "cfn-lint is installed with requirements-dev.txt"
    result = subprocess.run([cfn_lint, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_runs_on_the_chosen_runtime_and_has_a_row_in_the_permissions(packaged):
    _, _, sam = packaged
    functions = _of_type(sam, "AWS::Serverless::Function")
    assert set(functions) == {template.function_id(f) for f in permissions.PERMISSIONS}
    for name, function in functions.items():
        assert function["Properties"]["Runtime"] == package.RUNTIME, name
        assert function["Properties"]["Architectures"] == [package.ARCHITECTURE], name


def test_queues_have_dead_letter_queues_and_mappings_report_partial_failures(packaged):
    stage, _, sam = packaged
    resources = Resources(_settings(stage))
    queues = _of_type(sam, "AWS::SQS::Queue")
    dead_letters = {q.dead_letter for q in resources.queues if q.dead_letter}
    failure_destinations = {s.on_failure for s in resources.event_sources if s.on_failure}
    for queue in resources.queues:
        properties = queues[template._cfn_name(queue.name) + "Queue"]["Properties"]
        assert properties["SqsManagedSseEnabled"] is True
        if queue.name in dead_letters | failure_destinations:
            continue
        # Every queue that work is read from parks what keeps failing
        assert properties["RedrivePolicy"]["maxReceiveCount"] == queue.max_receive_count, queue.name
    mappings = _of_type(sam, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == len(resources.event_sources)
    for source in resources.event_sources:
        mapping = mappings[template.mapping_id(source, resources)]["Properties"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == source.batch_size
        assert mapping["FunctionName"] == {"Ref": template.function_id(source.function)}
        if source.kind == "dynamodb":
            assert mapping["MaximumRetryAttempts"] == source.max_retries
            destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
            assert destination == {"Fn::GetAtt": [template._cfn_name(source.on_failure) + "Queue", "Arn"]}


def test_the_statistics_count_three_streams_beside_their_other_consumers(packaged):
    _, _, sam = packaged
    mappings = _of_type(sam, "AWS::Lambda::EventSourceMapping").values()

    def streams_of(function):
        return {
            m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
            for m in mappings
            if m["Properties"]["FunctionName"] == {"Ref": template.function_id(function)}
        }

    # Every change of what is counted reaches the counting function, from each table's stream
    assert streams_of("count_statistics") == {"RegistrationsTable", "ExchangesTable", "PaymentsTable"}
    # and the registrations' stream still feeds the catalogue
    assert streams_of("on_registration_change") == {"RegistrationsTable"}
    tables = _of_type(sam, "AWS::DynamoDB::Table")
    for table in ("RegistrationsTable", "ExchangesTable", "PaymentsTable"):
        stream = tables[table]["Properties"]["StreamSpecification"]
        assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}, table
    # The counters' table lets its markers expire
    statistics = tables["StatisticsTable"]["Properties"]
    assert statistics["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_buckets_are_private_encrypted_kept_and_documents_reach_the_check(packaged):
    stage, _, sam = packaged
    settings = _settings(stage)
    buckets = _of_type(sam, "AWS::S3::Bucket")
    assert set(buckets) == {"DocumentsBucket", "ArtifactsBucket"}
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert all(properties["PublicAccessBlockConfiguration"].values())
        assert len(properties["PublicAccessBlockConfiguration"]) == 4
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    documents = buckets["DocumentsBucket"]["Properties"]
    (rule,) = documents["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == list(settings.allowed_origins)
    assert "POST" in rule["AllowedMethods"]  # a browser's presigned POST
    (notification,) = documents["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Queue"] == {"Fn::GetAtt": ["DocumentsQueue", "Arn"]}
    # Generated agreements are read by presigned GETs (a web app may fetch them); never written by one
    artifacts = buckets["ArtifactsBucket"]["Properties"]
    (rule,) = artifacts["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == list(settings.allowed_origins)
    assert rule["AllowedMethods"] == ["GET", "HEAD"]
    assert "NotificationConfiguration" not in artifacts


def test_large_exports_expire_from_the_artifacts_bucket_and_only_the_api_writes_them_there(packaged):
    stage, _, sam = packaged
    settings = _settings(stage)
    artifacts = sam["Resources"]["ArtifactsBucket"]["Properties"]
    (rule,) = artifacts["LifecycleConfiguration"]["Rules"]
    # Only the exports prefix, kept a few days; the versioned bucket's old versions go too
    assert rule["Status"] == "Enabled" and rule["Prefix"] == settings.exports_prefix == "exports/"
    assert 1 <= rule["ExpirationInDays"] <= 7
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1

    def on(arn: dict[str, Any], function: str) -> list[dict[str, Any]]:
        return [
            s
            for s in _policy_statements(sam, function)
            if arn in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        ]

    exports_arn = {"Fn::Sub": "${ArtifactsBucket.Arn}/exports/*"}
    for function in permissions.PERMISSIONS:
        writes = on(exports_arn, function)
        if function == "api_handler":
            assert [sorted(s["Action"]) for s in writes] == [["s3:GetObject", "s3:PutObject"]]
            # and it writes nowhere else in the artifacts bucket
            elsewhere = on({"Fn::Sub": "${ArtifactsBucket.Arn}/*"}, function)
            assert elsewhere and all("s3:PutObject" not in s["Action"] for s in elsewhere)
        else:
            assert writes == [], function


def test_allowed_origins_are_per_stage_and_never_any_in_prod(packaged):
    stage, _, _ = packaged
    origins = _settings(stage).allowed_origins
    assert origins and "*" not in origins
    if stage == "prod":
        assert all(o.startswith("https://") for o in origins)


def test_the_user_pool_has_groups_a_client_the_partnership_attribute_and_the_sign_up_trigger(packaged):
    _, _, sam = packaged
    pool = sam["Resources"]["UserPool"]
    assert {"Name": "partnership_id", "AttributeDataType": "String", "Mutable": True} in pool["Properties"][
        "Schema"
    ]
    assert pool["Properties"]["LambdaConfig"] == {
        "PostConfirmation": {"Fn::GetAtt": ["OnUserConfirmed", "Arn"]}
    }
    groups = {g["Properties"]["GroupName"] for g in _of_type(sam, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(ROLES)
    (client,) = _of_type(sam, "AWS::Cognito::UserPoolClient").values()
    assert "custom:partnership_id" not in client["Properties"]["WriteAttributes"]
    invoke = sam["Resources"]["OnUserConfirmedCognitoPermission"]["Properties"]
    assert invoke["Principal"] == "cognito-idp.amazonaws.com"
    assert invoke["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}


def test_the_schedule_throttling_and_mail_identity(packaged):
    stage, _, sam = packaged
    resources = sam["Resources"]
    (schedule,) = resources["Tick"]["Properties"]["Events"].values()
    assert schedule["Type"] == "Schedule"
    (method_settings,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert (method_settings["ThrottlingRateLimit"], method_settings["ThrottlingBurstLimit"]) == (
        template.THROTTLING[stage]
    )
    assert {"MailSender", "MailIdentity", "FinanceEmail", "AlarmEmail"} == set(sam["Parameters"])


def test_alarms_watch_every_failure_queue_the_api_and_overdue_payments(packaged):
    stage, _, sam = packaged
    resources = Resources(_settings(stage))
    alarms = _of_type(sam, "AWS::CloudWatch::Alarm")
    watched_queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
    }
    failure_queues = {q.dead_letter for q in resources.queues if q.dead_letter} | {
        s.on_failure for s in resources.event_sources if s.on_failure
    }
    assert watched_queues == {template._cfn_name(q) + "Queue" for q in failure_queues}
    metrics = {a["Properties"]["MetricName"] for a in alarms.values()}
    assert {"5XXError", template.OVERDUE_PAYMENTS_METRIC, template.STUCK_EFFECTS_METRIC} <= metrics
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_gateway_responses_carry_the_cors_headers(packaged):
    stage, _, sam = packaged
    first_origin = _settings(stage).allowed_origins[0]
    # In the API's definition (SAM's overwrite of the definition would drop separate resources)
    assert not _of_type(sam, "AWS::ApiGateway::GatewayResponse")
    definition = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = definition["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == set(GATEWAY_RESPONSES)
    assert "paths" in definition  # merged into Chalice's definition, not in its place
    for kind, response in responses.items():
        assert response["statusCode"] == str(GATEWAY_RESPONSES[kind][0])
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{first_origin}'"


def _policy_statements(sam: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = sam["Resources"][template.role_id(function)]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    for policy in _of_type(sam, "AWS::IAM::Policy").values():
        if policy["Properties"]["Roles"] == [{"Ref": template.role_id(function)}]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _lambda_service_actions(function: str) -> set[str]:
    """What Lambda needs: logs, and reading (and parking failures of) what the function is mapped to."""
    actions = {"logs:CreateLogStream", "logs:PutLogEvents"}  # the group is the stack's
    for source in Resources(Settings()).event_sources:
        if source.function != function:
            continue
        if source.kind == "dynamodb":
            actions |= {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
            actions.add("dynamodb:ListStreams")
        else:
            actions |= {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
            actions.add("sqs:ChangeMessageVisibility")
        if source.on_failure:
            actions.add("sqs:SendMessage")
    return actions


def test_each_function_has_its_own_role_allowing_exactly_its_row_and_no_wildcard(packaged):
    _, _, sam = packaged
    functions = _of_type(sam, "AWS::Serverless::Function")
    roles = {function: template.role_id(function) for function in permissions.PERMISSIONS}
    assert len(set(roles.values())) == len(roles)
    for function, role in roles.items():
        assert functions[template.function_id(function)]["Properties"]["Role"] == {
            "Fn::GetAtt": [role, "Arn"]
        }
        statements = _policy_statements(sam, function)
        actions = {
            a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        assert actions == set(permissions.allowed_actions(function)) | _lambda_service_actions(function), (
            function
        )
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert not any("*" in a for a in statement["Action"]), (function, statement["Action"])
            named = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            assert "*" not in named and "arn:aws:*" not in named, (function, statement)


def _settings_fields_read() -> set[str]:
    """Fields of Settings that chalicelib and app.py read: attributes taken from get_settings() or from a
    name bound to it, with the fields the properties and methods used there read in turn."""
    settings_tree = ast.parse((ROOT / "chalicelib" / "settings.py").read_text(encoding="utf-8"))
    derived: dict[str, set[str]] = {}
    for node in ast.walk(settings_tree):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    derived[item.name] = {
                        n.attr
                        for n in ast.walk(item)
                        if isinstance(n, ast.Attribute)
                        and isinstance(n.value, ast.Name)
                        and n.value.id == "self"
                    }
    read: set[str] = set()
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {"settings", "_settings"}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            value = node.value
            from_call = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "get_settings"
            )
            if from_call or (isinstance(value, ast.Name) and value.id in names):
                read.add(node.attr)
    fields = set(Settings.model_fields)
    for name in list(read):
        read |= derived.get(name, set())
    return read & fields


# Fields whose default is what AWS needs, so the template rightly leaves them unset.
DEFAULT_IS_RIGHT_IN_AWS = {
    "aws_endpoint_url": "None: the real AWS endpoints",
    "clock_file": "None: the real date",
    "region": "Lambda sets AWS_REGION itself",
    "jwks_url": "derived from the issuer",
    "catalogue_index_prefix": "a folder inside the artifacts bucket, the same in every stage",
    "exports_prefix": "a folder inside the artifacts bucket, the same in every stage",
    "export_inline_rows": "the bound the contract states (1,000 rows)",
    "export_inline_bytes": "the bound the contract states (about 1 MB, under Lambda's 6 MB answer)",
    "metrics_enabled": "on",
}
# Cognito invokes these with the pool's id in the event; they cannot name the pool (a cycle).
NOT_FOR_COGNITO_TRIGGERS = {"user_pool_id", "app_client_id", "token_issuer"}


def test_the_settings_the_code_reads_are_set_on_every_function(packaged):
    _, _, sam = packaged
    read = _settings_fields_read()
    # The scan finds what the code is known to read (a scan that found nothing would pass anything).
    assert {
        "documents_bucket",
        "user_pool_id",
        "app_client_id",
        "allowed_origins",
        "cursor_secret_id",
    } <= read
    variable_of = {field: variable for variable, field in _ENV.items()}
    for function in permissions.PERMISSIONS:
        variables = _of_type(sam, "AWS::Serverless::Function")[template.function_id(function)]["Properties"][
            "Environment"
        ]["Variables"]
        needed = read - set(DEFAULT_IS_RIGHT_IN_AWS)
        if function in template.COGNITO_TRIGGERS:
            needed -= NOT_FOR_COGNITO_TRIGGERS
        missing = sorted(variable_of[field] for field in needed if variable_of[field] not in variables)
        assert not missing, (function, missing)
