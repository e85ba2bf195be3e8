"""Creates the resources of infra.resources in the AWS emulator (or in moto's in-process mock)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from infra.resources import EXPORTS_KEPT_DAYS, ROLES, Resources


@dataclass
class Bootstrapped:
    user_pool_id: str
    app_client_id: str
    stream_arns: dict[str, str] = field(default_factory=dict)  # table short name -> stream ARN
    queue_urls: dict[str, str] = field(default_factory=dict)  # queue short name -> URL
    queue_arns: dict[str, str] = field(default_factory=dict)
    buckets: list[str] = field(default_factory=list)
    cursor_secret_id: str = ""  # the secret list cursors are signed with (the template's CursorSecret)


def _clients(endpoint_url: str | None, region: str) -> dict[str, Any]:
    import boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return {
        name: boto3.client(name, **kwargs)
        for name in ("dynamodb", "s3", "sqs", "ses", "cognito-idp", "secretsmanager")
    }


def create_tables(resources: Resources, dynamodb: Any) -> dict[str, str]:
    arns: dict[str, str] = {}
    prefix = resources.settings.resource_prefix + "-"
    for table in resources.tables():
        args = table.create_table_args()
        description = dynamodb.create_table(**args)["TableDescription"]
        ttl = table.time_to_live()
        if ttl:  # CreateTable takes no TTL: a second call, as CloudFormation makes it
            dynamodb.update_time_to_live(TableName=table.name, TimeToLiveSpecification=ttl)
        if "LatestStreamArn" in description:
            arns[args["TableName"].removeprefix(prefix)] = description["LatestStreamArn"]
    return arns


def create_queues(resources: Resources, sqs: Any) -> tuple[dict[str, str], dict[str, str]]:
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for queue in resources.queues:  # dead-letter queues are listed before the queues that use them
        attributes = {"VisibilityTimeout": str(resources.visibility_timeout(queue.name))}
        retention = resources.retention(queue.name)
        if retention:
            attributes["MessageRetentionPeriod"] = str(retention)
        if queue.dead_letter:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arns[queue.dead_letter],
                    "maxReceiveCount": str(queue.max_receive_count),
                }
            )
        url = sqs.create_queue(QueueName=resources.queue_name(queue.name), Attributes=attributes)["QueueUrl"]
        urls[queue.name] = url
        arns[queue.name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    return urls, arns


def _private_bucket(s3: Any, name: str, region: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def create_bucket(resources: Resources, s3: Any, queue_arn: str) -> None:
    """The documents bucket (uploads, every new object notified to the check) and the artifacts bucket
    (the service's own files, which the upload check must never see)."""
    settings = resources.settings
    _private_bucket(s3, settings.documents_bucket, settings.region)
    _private_bucket(s3, settings.artifacts_bucket, settings.region)
    # The template's rule for large exports (infra.template.exports_expiry), in S3's API shape.
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.artifacts_bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "ExpireExports",
                    "Status": "Enabled",
                    "Filter": {"Prefix": settings.exports_prefix},
                    "Expiration": {"Days": EXPORTS_KEPT_DAYS},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.documents_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )


def create_cursor_secret(resources: Resources, secretsmanager: Any) -> str:
    """The secret list cursors are signed with, random as the template's (made once per emulator)."""
    import secrets

    name = f"{resources.settings.resource_prefix}-cursor-secret"
    return str(secretsmanager.create_secret(Name=name, SecretString=secrets.token_hex(32))["ARN"])


def create_user_pool(resources: Resources, idp: Any) -> tuple[str, str]:
    pool = idp.create_user_pool(
        PoolName=f"{resources.settings.resource_prefix}-users",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "partnership_id", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]
    for role in ROLES:
        idp.create_group(GroupName=role, UserPoolId=pool["Id"])
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="web-and-mobile",
        ExplicitAuthFlows=[
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        ReadAttributes=["email", "custom:partnership_id"],
        WriteAttributes=["email"],
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def bootstrap(resources: Resources, endpoint_url: str | None = None) -> Bootstrapped:
    settings = resources.settings
    clients = _clients(endpoint_url, settings.region)
    stream_arns = create_tables(resources, clients["dynamodb"])
    queue_urls, queue_arns = create_queues(resources, clients["sqs"])
    create_bucket(resources, clients["s3"], queue_arns[resources.documents_notification_queue])
    clients["ses"].verify_email_identity(EmailAddress=settings.mail_sender)
    pool_id, client_id = create_user_pool(resources, clients["cognito-idp"])
    buckets = [settings.documents_bucket, settings.artifacts_bucket]  # as create_bucket made them
    secret_id = create_cursor_secret(resources, clients["secretsmanager"])
    return Bootstrapped(
        pool_id, client_id, stream_arns, queue_urls, queue_arns, buckets=buckets, cursor_secret_id=secret_id
    )
