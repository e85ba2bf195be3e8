"""The CloudFormation resources merged into `chalice package` output (`--merge-template`).

Everything here is derived from infra.resources, the definitions the local stack also uses.
Usage: python -m infra.template STAGE > build/merge.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.settings import Settings
from infra.resources import GATEWAY_RESPONSES, ROLES, Resources


def _private_bucket(name: str) -> dict[str, Any]:
    """A bucket's properties: named, no public access whatever a policy or ACL says, encrypted at rest."""
    return {
        "BucketName": name,
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


def _cfn_name(name: str) -> str:
    # Chalice names a function's resource by CamelCasing its name.
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _retained(resource: dict[str, Any]) -> dict[str, Any]:
    """Data outlives the stack: deleting the stack or replacing the resource keeps the old one."""
    return {**resource, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def build(resources: Resources) -> dict[str, Any]:
    settings = resources.settings
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
            "VisibilityTimeout": queue.visibility_timeout,
            "SqsManagedSseEnabled": True,
        }
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
                        "Condition": {
                            "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{settings.documents_bucket}"}
                        },
                    }
                ]
            },
        },
    }
    out["DocumentsBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DependsOn": "DocumentsQueuePolicy",
        "DeletionPolicy": "Retain",
        "Properties": {
            **_private_bucket(settings.documents_bucket),
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": [notification_queue, "Arn"]}}
                ]
            },
        },
    }

    out["ArtifactsBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "Properties": {
            **_private_bucket(settings.artifacts_bucket),
        },
    }

    out["UserPool"] = {
        "Type": "AWS::Cognito::UserPool",
        "Properties": {
            "UserPoolName": f"{settings.resource_prefix}-users",
            "UsernameAttributes": ["email"],
            "AutoVerifiedAttributes": ["email"],
            "Schema": [{"Name": "partnership_id", "AttributeDataType": "String", "Mutable": True}],
        },
    }
    out["UserPoolClient"] = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "UserPoolId": {"Ref": "UserPool"},
            "ClientName": "web-and-mobile",
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "ReadAttributes": ["email", "custom:partnership_id"],
            "WriteAttributes": ["email"],
        },
    }
    for role in ROLES:
        out[_cfn_name(role) + "Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": role, "UserPoolId": {"Ref": "UserPool"}},
        }

    for source in resources.event_sources:
        function = {"Ref": _cfn_name(source.function)}
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
        out[_cfn_name(source.function) + "Mapping"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": mapping,
        }

    for kind, (status, body) in GATEWAY_RESPONSES.items():
        out[_cfn_name(kind.lower()) + "GatewayResponse"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "RestAPI"},
                "ResponseType": kind,
                "StatusCode": str(status),
                "ResponseTemplates": {"application/json": body},
                "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            },
        }
    return {"Resources": out}


def main(argv: list[str]) -> int:
    stage = argv[1] if len(argv) > 1 else "dev"
    config = json.loads(Path(".chalice/config.json").read_text(encoding="utf-8"))
    env = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    settings = Settings(
        stage=stage,
        resource_prefix=env["CXC_RESOURCE_PREFIX"],
        documents_bucket=env["CXC_DOCUMENTS_BUCKET"],
        artifacts_bucket=env["CXC_ARTIFACTS_BUCKET"],
    )
    print(json.dumps(build(Resources(settings)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
