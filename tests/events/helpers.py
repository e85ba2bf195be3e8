"""Lambda events built from what moto's streams and queues really hold, for tests of event functions.

The records go through the same shaping as the local event pump (infra.local.event_shapes), so a test
sees what the deployed function sees.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID

from infra.local.event_shapes import sqs_event_record, stream_event_record

REGION = "eu-west-1"


def stream_records(stream_arn: str, region: str = REGION) -> list[dict[str, Any]]:
    """Every record on the stream since it began (all shards, TRIM_HORIZON), in Lambda's shape."""
    # botocore would otherwise call an account-based endpoint that moto does not route.
    streams = boto3.client(
        "dynamodbstreams", region_name=region, config=Config(account_id_endpoint_mode="disabled")
    )
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records.extend(stream_event_record(r, stream_arn, region) for r in page["Records"])
            iterator = page.get("NextShardIterator")
    return records


def stream_event(stream_arn: str, region: str = REGION) -> dict[str, Any]:
    return {"Records": stream_records(stream_arn, region)}


def queue_event(queue_url: str, queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """Every message waiting on the queue, received once, as one SQS batch event."""
    sqs = boto3.client("sqs", region_name=region)
    records: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        records.extend(sqs_event_record(m, queue_arn, region) for m in messages)
    return {"Records": records}


def sent_emails(region: str = REGION) -> list[Any]:
    """What moto's SES has sent (messages with .destinations, .subject, .body)."""
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)


def pending_effects() -> list[str]:
    """Ids of the outbox items not yet delivered (pending, due or not)."""
    from chalicelib.store.models import OutboxModel

    return sorted(m.id for m in OutboxModel.by_queue.query("pending"))


def run_effects(aws: Any, rounds: int = 10) -> dict[str, Any]:
    """Hand the outbox's whole stream to the dispatcher, as Lambda's event source mapping hands it new
    records, round after round until nothing is left pending or a round changes nothing (effects stage
    effects: the rendered agreements ask the signers). Every record is handed on again each round, so
    each test also checks that a replayed record delivers nothing twice. The last event handed on."""
    import app as app_module

    event: dict[str, Any] = {"Records": []}
    before: list[str] | None = None
    for _ in range(rounds):
        event = stream_event(aws.stream_arns["outbox"])
        assert app_module.deliver_effects(event, None) == {"batchItemFailures": []}
        pending = pending_effects()
        if not pending or pending == before:
            break
        before = pending
    return event
