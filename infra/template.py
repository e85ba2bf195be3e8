"""The CloudFormation resources merged into `chalice package` output (`--merge-template`): tables,
buckets, queues, mappings, the user pool, alarms, and each function's settings and role.

Everything here is derived from infra.resources (the definitions the local stack also uses), the
stage's settings in .chalice/config.json and each function's row in chalicelib.permissions.
Usage: python -m infra.template STAGE   (infra.package merges it; this prints the fragment)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chalicelib import permissions
from chalicelib.settings import Settings, settings_from
from chalicelib.store.queues import PAYMENTS
from infra.resources import (
    EXPORTS_KEPT_DAYS,
    GATEWAY_RESPONSES,
    ROLES,
    SIZING,
    EventSource,
    Resources,
    gateway_response_headers,
)
from infra.stages import stage_environment


def _private_bucket() -> dict[str, Any]:
    """A bucket's properties: no public access whatever a policy or ACL says, encrypted at rest. No
    name: S3's names are global, so CloudFormation makes one from the stack's (the functions are given
    it), and a second programme's stack in another account cannot find its name taken."""
    return {
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
    }


def _bucket_cors(settings: Settings, *methods: str) -> dict[str, Any]:
    """The stage's web origins may use presigned links to the bucket with these methods."""
    return {
        "CorsRules": [
            {
                "AllowedOrigins": list(settings.allowed_origins),
                "AllowedMethods": list(methods),
                "AllowedHeaders": ["*"],
                "ExposedHeaders": ["ETag"],
                "MaxAge": 3600,
            }
        ]
    }


def exports_expiry(settings: Settings) -> dict[str, Any]:
    """The artifacts bucket's rule for large exports: expired EXPORTS_KEPT_DAYS after they are written,
    their versions (the bucket is versioned) the day after; S3 then clears the delete markers too."""
    return {
        "Id": "ExpireExports",
        "Status": "Enabled",
        "Prefix": settings.exports_prefix,
        "ExpirationInDays": EXPORTS_KEPT_DAYS,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def _cfn_name(name: str) -> str:
    # Chalice names a function's resource by CamelCasing its name.
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _retained(resource: dict[str, Any]) -> dict[str, Any]:
    """Data outlives the stack: deleting the stack or replacing the resource keeps the old one."""
    return {**resource, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


# Requests a second the API takes, and the burst above that, before API Gateway answers 429 itself.
THROTTLING = {"dev": (20, 40), "prod": (100, 200)}
# Days a function's logs and the API's access logs are kept, per stage (CloudWatch's allowed values).
LOG_RETENTION_DAYS = {"dev": 14, "prod": 365}
# The API's access log, one JSON object a request: who, what, how it ended, how long it took.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "sourceIp": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "user": "$context.authorizer.principalId",
        "authorizerError": "$context.authorizer.error",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)
# AWS's managed policy for a function's X-Ray segments: X-Ray's write actions take no resource but "*",
# so they are attached (only where tracing is on) rather than written into the function's own policy.
XRAY_WRITE_POLICY = "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"

# CloudWatch metric the payment work emits with the number of payments unpaid past their deadline.
OVERDUE_PAYMENTS_METRIC = "OverduePayments"
# ... and the effects dispatcher with each effect it gave up on (stuck: listed at GET /v1/ops/stuck).
STUCK_EFFECTS_METRIC = "StuckEffects"

# Cognito invokes these functions: the pool names them, so they cannot name the pool (a cycle). The
# event carries the pool's id, so they are given no pool settings, and their grants on the pool are
# attached after the pool exists (a policy of its own).
COGNITO_TRIGGERS = {"on_user_confirmed": "PostConfirmation"}


def function_id(function: str) -> str:
    """The logical id Chalice gives a Lambda function."""
    return "APIHandler" if function == "api_handler" else _cfn_name(function)


def mapping_id(source: EventSource, resources: Resources) -> str:
    """An event source mapping's logical id: the function's name, and the source's when the function
    reads several (a function's only mapping keeps the id it always had)."""
    several = sum(s.function == source.function for s in resources.event_sources) > 1
    return _cfn_name(source.function) + (_cfn_name(source.source) if several else "") + "Mapping"


def role_id(function: str) -> str:
    return _cfn_name(function) + "Role"


def log_group_id(function: str) -> str:
    return _cfn_name(function) + "LogGroup"


def function_name(function: str) -> dict[str, str]:
    """A function's name: the stack's name first, so the log group can be named before the function
    exists (Lambda would otherwise create one, kept for ever, on the first invocation)."""
    return {"Fn::Sub": f"${{AWS::StackName}}-{function}"}


def _parameters(settings: Settings) -> dict[str, Any]:
    return {
        "MailSender": {
            "Type": "String",
            "Default": settings.mail_sender,
            "Description": "The From address of the service's e-mail (an address of MailIdentity)",
        },
        "MailIdentity": {
            "Type": "String",
            "Default": settings.mail_sender.partition("@")[2],
            "Description": "The SES identity (a verified domain or address) the mail is sent as",
        },
        "FinanceEmail": {
            "Type": "String",
            "Default": settings.finance_email,
            "Description": "The finance desk told of overdue payments",
        },
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "Who is mailed when an alarm fires (empty: nobody; subscribe to the topic later)",
        },
    }


def _arns(resources: Resources, tables: list[str], queue_ids: dict[str, str]) -> dict[str, list[Any]]:
    """The ARNs each target of chalicelib.permissions names."""
    sub = "arn:${AWS::Partition}"
    return {
        permissions.TABLES: [
            arn
            for logical in tables
            for arn in (
                {"Fn::GetAtt": [logical, "Arn"]},
                {"Fn::Sub": f"${{{logical}.Arn}}/index/*"},
            )
        ],
        permissions.DOCUMENTS: [{"Fn::Sub": "${DocumentsBucket.Arn}/*"}],
        permissions.DOCUMENTS_BUCKET: [{"Fn::GetAtt": ["DocumentsBucket", "Arn"]}],
        permissions.ARTIFACTS: [{"Fn::Sub": "${ArtifactsBucket.Arn}/*"}],
        permissions.ARTIFACTS_BUCKET: [{"Fn::GetAtt": ["ArtifactsBucket", "Arn"]}],
        permissions.EXPORTS: [{"Fn::Sub": f"${{ArtifactsBucket.Arn}}/{resources.settings.exports_prefix}*"}],
        permissions.CURSOR_SECRET: [{"Ref": "CursorSecret"}],  # a secret's Ref is its ARN
        permissions.MAIL: [
            {"Fn::Sub": f"{sub}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/${{MailIdentity}}"}
        ],
        permissions.USER_POOL: [{"Fn::GetAtt": ["UserPool", "Arn"]}],
        permissions.PAYMENTS_QUEUE: [{"Fn::GetAtt": [queue_ids[PAYMENTS], "Arn"]}],
    }


def _statements(grants: list[permissions.Grant], arns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "Action": sorted(g.actions), "Resource": arns[g.on]} for g in grants]


def _assumed_by(service: str) -> dict[str, Any]:
    """A role's trust policy: the AWS service that works with it."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _lambda_service_statements(
    function: str, resources: Resources, table_ids: dict[str, str], queue_ids: dict[str, str]
) -> list[dict[str, Any]]:
    """What Lambda does with a function's role: its logs, and reading what it is mapped to."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            # Its own log group only, which the stack creates (so no CreateLogGroup): the group is named
            # from the stack, not from the function, so naming it makes no cycle.
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [log_group_id(function), "Arn"]},
        }
    ]
    for source in resources.event_sources:
        if source.function != function:
            continue
        if source.kind == "dynamodb":
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                    "Resource": {"Fn::GetAtt": [table_ids[source.source], "StreamArn"]},
                }
            )
        else:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": [
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage",
                    ],
                    "Resource": {"Fn::GetAtt": [queue_ids[source.source], "Arn"]},
                }
            )
        if source.on_failure:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": {"Fn::GetAtt": [queue_ids[source.on_failure], "Arn"]},
                }
            )
    return statements


def _functions(resources: Resources, table_ids: dict[str, str], queue_ids: dict[str, str]) -> dict[str, Any]:
    """Per function: its name, size, log group, tracing, the settings it reads from its environment, and
    its role (one per function)."""
    out: dict[str, Any] = {}
    arns = _arns(resources, sorted(table_ids.values()), queue_ids)
    settings = resources.settings
    tracing = settings.tracing_enabled
    for function, grants in permissions.PERMISSIONS.items():
        triggered_by_pool = function in COGNITO_TRIGGERS
        variables: dict[str, Any] = {
            "CXC_MAIL_SENDER": {"Ref": "MailSender"},
            "CXC_FINANCE_EMAIL": {"Ref": "FinanceEmail"},
            "CXC_CURSOR_SECRET_ID": {"Ref": "CursorSecret"},
            "CXC_PAYMENTS_QUEUE_URL": {"Ref": queue_ids[PAYMENTS]},  # a queue's Ref is its URL
            "CXC_DOCUMENTS_BUCKET": {"Ref": "DocumentsBucket"},
            "CXC_ARTIFACTS_BUCKET": {"Ref": "ArtifactsBucket"},
            # Powertools' own switch, kept equal to ours (chalicelib.observability reads ours).
            "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        }
        if not triggered_by_pool:
            variables.update(
                {
                    "CXC_USER_POOL_ID": {"Ref": "UserPool"},
                    "CXC_APP_CLIENT_ID": {"Ref": "UserPoolClient"},
                    "CXC_TOKEN_ISSUER": {
                        "Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}"
                    },
                }
            )
        sizing = SIZING[function]
        out[function_id(function)] = {
            "Properties": {
                "FunctionName": function_name(function),
                "MemorySize": sizing.memory,
                "Timeout": sizing.timeout,
                "LoggingConfig": {"LogGroup": {"Ref": log_group_id(function)}},
                "Tracing": "Active" if tracing else "PassThrough",
                "Environment": {"Variables": variables},
            }
        }
        out[log_group_id(function)] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function}"},
                "RetentionInDays": LOG_RETENTION_DAYS.get(settings.stage, LOG_RETENTION_DAYS["dev"]),
            },
        }
        on_pool = [g for g in grants if g.on == permissions.USER_POOL] if triggered_by_pool else []
        inline = [g for g in grants if g not in on_pool]
        out[role_id(function)] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _assumed_by("lambda.amazonaws.com"),
                "ManagedPolicyArns": [{"Fn::Sub": XRAY_WRITE_POLICY}] if tracing else [],
                "Policies": [
                    {
                        "PolicyName": function,
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": _lambda_service_statements(function, resources, table_ids, queue_ids)
                            + _statements(inline, arns),
                        },
                    }
                ],
            },
        }
        if on_pool:
            out[_cfn_name(function) + "UserPoolPolicy"] = {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": f"{function}-user-pool",
                    "Roles": [{"Ref": role_id(function)}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": _statements(on_pool, arns)},
                },
            }
    return out


def _user_pool(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            # Users and their groups are data: the pool outlives the stack like the tables.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": f"{settings.resource_prefix}-users",
                # Cognito's own sender allows 50 mails a day; the service's SES identity has no such cap.
                "EmailConfiguration": {
                    "EmailSendingAccount": "DEVELOPER",
                    "From": {"Ref": "MailSender"},
                    "SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                        ":identity/${MailIdentity}"
                    },
                },
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "Schema": [{"Name": "partnership_id", "AttributeDataType": "String", "Mutable": True}],
                "LambdaConfig": {
                    event: {"Fn::GetAtt": [function_id(function), "Arn"]}
                    for function, event in COGNITO_TRIGGERS.items()
                },
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ClientName": "web-and-mobile",
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "ReadAttributes": ["email", "email_verified", "custom:partnership_id"],
                # custom:partnership_id is set by an administrator, never by the user.
                "WriteAttributes": ["email"],
            },
        },
    }
    for role in ROLES:
        out[_cfn_name(role) + "Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": role, "UserPoolId": {"Ref": "UserPool"}},
        }
    for function in COGNITO_TRIGGERS:
        out[function_id(function) + "CognitoPermission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": [function_id(function), "Arn"]},
                "Principal": "cognito-idp.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": ["UserPool", "Arn"]},
            },
        }
    return out


def _alarm(description: str, metric: dict[str, Any], threshold: int, period: int = 300) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _alarms(resources: Resources, queue_ids: dict[str, str], stage: str) -> dict[str, Any]:
    settings = resources.settings
    out: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
    }
    # Every queue something fails into, consumed or not: a message there is work that did not happen.
    for queue in sorted(resources.failure_queues()):
        out[queue_ids[queue] + "Alarm"] = _alarm(
            f"Messages in {resources.queue_name(queue)}: records that failed every retry",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_ids[queue], "QueueName"]}}
                ],
                "Statistic": "Maximum",
            },
            threshold=1,
        )
    out["Api5xxAlarm"] = _alarm(
        "The API answered 5xx (our errors or API Gateway's) 5 times or more in 5 minutes",
        {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5XXError",
            "Dimensions": [
                {"Name": "ApiName", "Value": settings.service_name},
                {"Name": "Stage", "Value": stage},
            ],
            "Statistic": "Sum",
        },
        threshold=5,
    )
    out["OverduePaymentsAlarm"] = _alarm(
        "Payments unpaid 10 days after the closing report's approval",
        {
            "Namespace": settings.metrics_namespace,
            "MetricName": OVERDUE_PAYMENTS_METRIC,
            "Dimensions": [{"Name": "service", "Value": settings.service_name}],
            "Statistic": "Maximum",
        },
        threshold=1,
        period=3600,
    )
    out["StuckEffectsAlarm"] = _alarm(
        "Effects of committed changes that kept failing (see GET /v1/ops/stuck)",
        {
            "Namespace": settings.metrics_namespace,
            "MetricName": STUCK_EFFECTS_METRIC,
            "Dimensions": [{"Name": "service", "Value": settings.service_name}],
            "Statistic": "Sum",
        },
        threshold=1,
        period=300,
    )
    return out


def _api_logs(stage: str) -> dict[str, Any]:
    """The API's access log group, and the account's role API Gateway writes logs with (one setting per
    account and region: every stack that sets it sets the same managed policy)."""
    return {
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": LOG_RETENTION_DAYS.get(stage, LOG_RETENTION_DAYS["dev"]),
            },
        },
        "ApiGatewayLogsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _assumed_by("apigateway.amazonaws.com"),
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}},
        },
    }


def _metric_widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "metrics": metrics,
            "stat": stat,
            "period": 300,
            "region": "${AWS::Region}",
            "view": "timeSeries",
        },
    }


def _dashboard(resources: Resources, stage: str) -> dict[str, Any]:
    """One page for an operator: the API's traffic and errors, each function's errors, duration and
    throttles, the queues' depth and the service's own metrics (stuck effects, overdue payments)."""
    settings = resources.settings
    api_dimensions = ["ApiName", settings.service_name, "Stage", stage]
    functions = sorted(permissions.PERMISSIONS)

    def per_function(metric: str) -> list[list[Any]]:
        return [["AWS/Lambda", metric, "FunctionName", f"${{AWS::StackName}}-{f}"] for f in functions]

    queues = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", resources.queue_name(q.name)]
        for q in resources.queues
    ]
    own = [
        [settings.metrics_namespace, name, "service", settings.service_name]
        for name in (STUCK_EFFECTS_METRIC, OVERDUE_PAYMENTS_METRIC, "ServerErrors")
    ]
    widgets = [
        _metric_widget(
            "API requests and errors",
            [["AWS/ApiGateway", metric, *api_dimensions] for metric in ("Count", "4XXError", "5XXError")],
            0,
            0,
        ),
        _metric_widget(
            "API latency (p95, ms)", [["AWS/ApiGateway", "Latency", *api_dimensions]], 12, 0, "p95"
        ),
        _metric_widget("Function errors", per_function("Errors"), 0, 6),
        _metric_widget("Function duration (p95, ms)", per_function("Duration"), 12, 6, stat="p95"),
        _metric_widget("Function throttles", per_function("Throttles"), 0, 12),
        _metric_widget("Queue depth (failure queues should be 0)", queues, 12, 12, stat="Maximum"),
        _metric_widget("Stuck effects, overdue payments, server errors", own, 0, 18, stat="Maximum"),
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets})}},
    }


def build(resources: Resources) -> dict[str, Any]:
    settings = resources.settings
    stage = settings.stage
    out: dict[str, Any] = {}
    table_ids: dict[str, str] = {}
    for table in resources.tables():
        logical = _cfn_name(table.short_name) + "Table"
        table_ids[table.short_name] = logical
        out[logical] = _retained(
            {"Type": "AWS::DynamoDB::Table", "Properties": table.cloudformation_properties()}
        )

    queue_ids: dict[str, str] = {}
    for queue in resources.queues:
        logical = _cfn_name(queue.name) + "Queue"
        queue_ids[queue.name] = logical
        properties: dict[str, Any] = {
            "QueueName": resources.queue_name(queue.name),
            "VisibilityTimeout": resources.visibility_timeout(queue.name),
            "SqsManagedSseEnabled": True,
        }
        retention = resources.retention(queue.name)
        if retention:
            properties["MessageRetentionPeriod"] = retention
        if queue.dead_letter:
            properties["RedrivePolicy"] = {
                "deadLetterTargetArn": {"Fn::GetAtt": [queue_ids[queue.dead_letter], "Arn"]},
                "maxReceiveCount": queue.max_receive_count,
            }
        out[logical] = {"Type": "AWS::SQS::Queue", "Properties": properties}

    notification_queue = queue_ids[resources.documents_notification_queue]
    out["DocumentsQueuePolicy"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": notification_queue}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [notification_queue, "Arn"]},
                        # The bucket's name is made by CloudFormation after this policy exists (the
                        # bucket checks its notification's target when created): the account, then.
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}},
                        },
                    }
                ]
            },
        },
    }
    out["DocumentsBucket"] = _retained(
        {
            "Type": "AWS::S3::Bucket",
            "DependsOn": "DocumentsQueuePolicy",
            "Properties": {
                **_private_bucket(),
                # Browsers upload with a presigned POST and may read with presigned GETs.
                "CorsConfiguration": _bucket_cors(settings, "GET", "HEAD", "POST"),
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": [notification_queue, "Arn"]}}
                    ]
                },
            },
        }
    )
    out["ArtifactsBucket"] = _retained(
        {
            "Type": "AWS::S3::Bucket",
            # Generated agreements are downloaded with presigned GETs, which a web app may fetch.
            "Properties": {
                **_private_bucket(),
                "CorsConfiguration": _bucket_cors(settings, "GET", "HEAD"),
                # Transfer files and signed agreements are records: an overwrite or a delete keeps the
                # version before it.
                "VersioningConfiguration": {"Status": "Enabled"},
                # Large exports are handed out once, by a short-lived link: kept a few days, then gone.
                "LifecycleConfiguration": {"Rules": [exports_expiry(settings)]},
            },
        }
    )
    out.update(_user_pool(settings))

    for source in resources.event_sources:
        function = {"Ref": function_id(source.function)}
        mapping: dict[str, Any] = {
            "FunctionName": function,
            "BatchSize": source.batch_size,
            # Chalice cannot set this; without it one bad record would fail the whole batch.
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        if source.kind == "dynamodb":
            mapping.update(
                {
                    "EventSourceArn": {"Fn::GetAtt": [table_ids[source.source], "StreamArn"]},
                    "StartingPosition": "TRIM_HORIZON",
                    "MaximumRetryAttempts": source.max_retries,
                    "BisectBatchOnFunctionError": True,
                }
            )
            if source.on_failure:
                mapping["DestinationConfig"] = {
                    "OnFailure": {"Destination": {"Fn::GetAtt": [queue_ids[source.on_failure], "Arn"]}}
                }
        else:
            mapping["EventSourceArn"] = {"Fn::GetAtt": [queue_ids[source.source], "Arn"]}
        out[mapping_id(source, resources)] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": mapping,
        }

    # In the API's own definition, not as AWS::ApiGateway::GatewayResponse resources: SAM imports the
    # definition in overwrite mode, which would drop responses defined beside it on the API's next
    # update, and CloudFormation would not know (they are its resources, not the definition's).
    gateway_responses = {
        kind: {
            "statusCode": str(status),
            "responseTemplates": {"application/json": body},
            "responseParameters": {
                f"gatewayresponse.header.{name}": f"'{value}'"
                for name, value in gateway_response_headers(settings).items()
            },
        }
        for kind, (status, body) in GATEWAY_RESPONSES.items()
    }

    rate, burst = THROTTLING.get(stage, THROTTLING["dev"])
    out.update(_api_logs(stage))
    out["RestAPI"] = {
        "DependsOn": "ApiGatewayAccount",
        "Properties": {
            "DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses},
            "TracingEnabled": settings.tracing_enabled,
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": ACCESS_LOG_FORMAT,
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                }
            ],
        },
    }
    out.update(_functions(resources, table_ids, queue_ids))
    out.update(_alarms(resources, queue_ids, stage))
    out["CursorSecret"] = _retained(
        {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "Signs the API's list cursors; made once, kept across deploys",
                # Made once, when the stack is created; an update of the stack never makes another.
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        }
    )
    out["Dashboard"] = _dashboard(resources, stage)
    return {
        "Parameters": _parameters(settings),
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": out,
        "Outputs": {
            "UserPoolId": {"Value": {"Ref": "UserPool"}},
            "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
            "DocumentsBucketName": {"Value": {"Ref": "DocumentsBucket"}},
            "ArtifactsBucketName": {"Value": {"Ref": "ArtifactsBucket"}},
            "CursorSecretArn": {"Value": {"Ref": "CursorSecret"}},
            "DashboardName": {"Value": {"Ref": "Dashboard"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        },
    }


def build_for_stage(stage: str) -> dict[str, Any]:
    return build(Resources(settings_from(stage_environment(stage))))


def main(argv: list[str]) -> int:
    print(json.dumps(build_for_stage(argv[1] if len(argv) > 1 else "dev"), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
