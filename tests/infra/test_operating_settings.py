"""What the packaged template gives the people who run the service, for each stage: logs kept for a
stage's time, the API's access log in JSON, tracing where the stage turns it on, queues sized against
their functions, failures kept and watched, a versioned artifacts bucket, no global names, the cursor
secret made once in Secrets Manager, arm64, Cognito's mail through SES and a dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import permissions
from chalicelib.settings import settings_from
from infra import package, template
from infra.resources import FAILURE_RETENTION_SECONDS, SIZING, VISIBILITY_PER_TIMEOUT, Resources


@pytest.fixture(scope="module", params=["dev", "prod"])
def packaged(request, tmp_path_factory) -> tuple[str, dict[str, Any]]:
    stage = request.param
    path = package.build_template(stage, tmp_path_factory.mktemp(stage))
    return stage, json.loads(Path(path).read_text(encoding="utf-8"))


def _of_type(sam: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in sam["Resources"].items() if r["Type"] == kind}


def _function(sam: dict[str, Any], function: str) -> dict[str, Any]:
    return dict(sam["Resources"][template.function_id(function)]["Properties"])


def _resources(stage: str) -> Resources:
    return Resources(settings_from(template.stage_environment(stage)))


def test_every_function_logs_to_its_own_group_kept_for_the_stages_time(packaged):
    stage, sam = packaged
    groups = _of_type(sam, "AWS::Logs::LogGroup")
    for function in permissions.PERMISSIONS:
        properties = _function(sam, function)
        group_id = template.log_group_id(function)
        group = groups[group_id]["Properties"]
        # Named as Lambda would name it, from the function's name, which the stack sets
        assert properties["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{function}"}
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function}"}
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
        assert group["RetentionInDays"] == template.LOG_RETENTION_DAYS[stage]
    # The function's role writes its own group only (the group exists: no CreateLogGroup)
    for function in permissions.PERMISSIONS:
        role = sam["Resources"][template.role_id(function)]["Properties"]
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        logs = [s for s in statements if any(a.startswith("logs:") for a in s["Action"])]
        assert logs == [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::GetAtt": [template.log_group_id(function), "Arn"]},
            }
        ]
    assert template.LOG_RETENTION_DAYS["prod"] >= template.LOG_RETENTION_DAYS["dev"]
    assert all(group["Properties"].get("RetentionInDays") for group in groups.values())


def test_the_api_writes_a_json_access_log_to_a_kept_group(packaged):
    stage, sam = packaged
    api = sam["Resources"]["RestAPI"]["Properties"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])  # one JSON object a request
    assert {"requestId", "status", "resourcePath", "httpMethod", "responseLatency", "user"} <= set(fields)
    group = sam["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == template.LOG_RETENTION_DAYS[stage]
    # API Gateway writes logs with the account's role, which the stack sets before the stage
    assert sam["Resources"]["RestAPI"]["DependsOn"] == "ApiGatewayAccount"
    account = sam["Resources"]["ApiGatewayAccount"]["Properties"]
    assert account["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}


def test_tracing_is_on_exactly_where_the_stage_says_with_what_it_needs(packaged):
    stage, sam = packaged
    tracing = _resources(stage).settings.tracing_enabled
    assert tracing == (stage == "dev")  # .chalice/config.json: on in dev, off in prod (cold start)
    assert sam["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is tracing
    for function in permissions.PERMISSIONS:
        properties = _function(sam, function)
        assert properties["Tracing"] == ("Active" if tracing else "PassThrough"), function
        variables = properties["Environment"]["Variables"]
        assert variables["CXC_TRACING_ENABLED"] == str(tracing).lower()  # what observability reads
        assert variables["POWERTOOLS_TRACE_DISABLED"] == str(not tracing).lower()
        role = sam["Resources"][template.role_id(function)]["Properties"]
        assert role["ManagedPolicyArns"] == ([{"Fn::Sub": template.XRAY_WRITE_POLICY}] if tracing else [])


def test_memory_and_timeout_are_set_per_function(packaged):
    _, sam = packaged
    assert set(SIZING) == set(permissions.PERMISSIONS)
    for function, sizing in SIZING.items():
        properties = _function(sam, function)
        assert (properties["MemorySize"], properties["Timeout"]) == (sizing.memory, sizing.timeout)
    assert _function(sam, "api_handler")["Timeout"] <= 29  # API Gateway's integration limit
    assert _function(sam, "on_user_confirmed")["Timeout"] <= 5  # Cognito's wait for a trigger


def test_a_queue_hides_a_message_six_times_as_long_as_its_function_may_run(packaged):
    stage, sam = packaged
    resources = _resources(stage)
    queues = _of_type(sam, "AWS::SQS::Queue")
    consumed = 0
    for queue in resources.queues:
        visibility = queues[template._cfn_name(queue.name) + "Queue"]["Properties"]["VisibilityTimeout"]
        function = resources.consumer(queue.name)
        if function:
            consumed += 1
            # the timeout as the template sets it, not as infra.resources says
            assert visibility >= VISIBILITY_PER_TIMEOUT * _function(sam, function)["Timeout"], queue.name
    assert consumed == sum(s.kind == "sqs" for s in resources.event_sources)


def test_failures_are_kept_fourteen_days_and_each_is_consumed_or_alarmed(packaged):
    stage, sam = packaged
    resources = _resources(stage)
    queues = _of_type(sam, "AWS::SQS::Queue")
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _of_type(sam, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
    }
    mapped = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in _of_type(sam, "AWS::Lambda::EventSourceMapping").values()
    }
    failure_queues = resources.failure_queues()
    # the stream mappings' destination and both dead-letter queues
    assert {"stream-failures", "documents-dlq", "payments-dlq"} <= failure_queues
    for queue in failure_queues:
        logical = template._cfn_name(queue) + "Queue"
        assert queues[logical]["Properties"]["MessageRetentionPeriod"] == FAILURE_RETENTION_SECONDS == 1209600
        assert logical in alarmed | mapped, queue
    # Every stream mapping parks what failed every retry on a failure queue (never drops it)
    for mapping in _of_type(sam, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        if "StartingPosition" in properties:
            destination = properties["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
            assert destination in {template._cfn_name(q) + "Queue" for q in failure_queues}


def test_buckets_have_no_fixed_names_and_the_artifacts_are_versioned(packaged):
    _, sam = packaged
    buckets = _of_type(sam, "AWS::S3::Bucket")
    for bucket in buckets.values():
        assert "BucketName" not in bucket["Properties"]
    assert buckets["ArtifactsBucket"]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    for function in permissions.PERMISSIONS:
        variables = _function(sam, function)["Environment"]["Variables"]
        assert variables["CXC_DOCUMENTS_BUCKET"] == {"Ref": "DocumentsBucket"}
        assert variables["CXC_ARTIFACTS_BUCKET"] == {"Ref": "ArtifactsBucket"}
    # No S3 name is written anywhere in the template (ARNs come from the buckets themselves)
    text = json.dumps(sam)
    assert '"BucketName"' not in text
    assert not re.search(r":s3:::[a-z0-9]", text), re.findall(r".{60}:s3:::[a-z0-9].{20}", text)


def test_the_cursor_secret_is_made_once_in_secrets_manager_and_read_by_name(packaged):
    _, sam = packaged
    assert "CursorSecret" not in sam["Parameters"]  # nothing on the deploy line can rotate it
    assert not any(p.get("NoEcho") for p in sam["Parameters"].values())
    secret = sam["Resources"]["CursorSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretString" not in secret["Properties"]
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    for function in permissions.PERMISSIONS:
        variables = _function(sam, function)["Environment"]["Variables"]
        assert variables["CXC_CURSOR_SECRET_ID"] == {"Ref": "CursorSecret"}
        assert "CXC_CURSOR_SECRET" not in variables
    # Only the API reads it, and only it
    statements = [
        s
        for p in sam["Resources"][template.role_id("api_handler")]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [{"Ref": "CursorSecret"}],
        }
    ]


def test_every_function_runs_on_arm64_and_the_wheels_are_aarch64(packaged):
    _, sam = packaged
    for function in permissions.PERMISSIONS:
        assert _function(sam, function)["Architectures"] == ["arm64"]
    assert package.ARCHITECTURE == "arm64"
    assert all(platform.endswith("_aarch64") for platform in package.PLATFORMS)


def test_the_user_pool_mails_through_the_services_ses_identity(packaged):
    _, sam = packaged
    email = sam["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert email["From"] == {"Ref": "MailSender"}
    assert "${MailIdentity}" in "".join(email["SourceArn"]["Fn::Sub"])


def test_the_dashboard_shows_every_function_queue_and_the_services_metrics(packaged):
    stage, sam = packaged
    (dashboard,) = _of_type(sam, "AWS::CloudWatch::Dashboard").values()
    assert "DashboardName" not in dashboard["Properties"]
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = {tuple(m) for w in body["widgets"] for m in w["properties"]["metrics"]}
    names = {value for metric in shown for value in metric}
    for function in permissions.PERMISSIONS:
        assert f"${{AWS::StackName}}-{function}" in names
    for queue in _resources(stage).queues:
        assert _resources(stage).queue_name(queue.name) in names
    assert {template.STUCK_EFFECTS_METRIC, template.OVERDUE_PAYMENTS_METRIC, "5XXError"} <= names
