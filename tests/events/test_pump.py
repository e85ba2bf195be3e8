"""The local event pump: real records from moto's streams and queues, Lambda's batch semantics."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from infra.local.emulator import serialise_dynamodb
from infra.local.pump import QueueMapping, StreamMapping
from infra.resources import EventSource

REGION = "eu-west-1"


@pytest.fixture
def emulated():
    serialise_dynamodb()  # the emulator as the local stack runs it
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        table = ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        streams = boto3.client(
            "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
        )
        sqs = boto3.client("sqs", region_name=REGION)
        yield ddb, streams, sqs, table["LatestStreamArn"]


def _put(ddb, *ids):
    for item_id in ids:
        ddb.put_item(TableName="t", Item={"id": {"S": item_id}})


def test_stream_records_arrive_in_lambda_shape_and_in_order(emulated):
    # Given
    ddb, streams, sqs, arn = emulated
    _put(ddb, "a", "b", "c")
    seen = []

    def function(event, context):
        for record in event["Records"]:
            assert record["eventSourceARN"] == arn
            assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
            seen.append(record["dynamodb"]["NewImage"]["id"]["S"])
        return {"batchItemFailures": []}

    mapping = StreamMapping(
        EventSource("f", "dynamodb", "t", batch_size=2), function, arn, streams, sqs, None
    )
    # When
    for _ in range(4):
        mapping.poll()
    # Then
    assert seen == ["a", "b", "c"]


def test_a_failed_record_is_retried_from_itself_then_sent_to_the_failure_queue(emulated):
    # Given a function that always fails on "b"
    ddb, streams, sqs, arn = emulated
    failure_url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    _put(ddb, "a", "b", "c")
    calls: list[list[str]] = []

    def function(event, context):
        ids = [r["dynamodb"]["NewImage"]["id"]["S"] for r in event["Records"]]
        calls.append(ids)
        failures = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in event["Records"]
            if r["dynamodb"]["NewImage"]["id"]["S"] == "b"
        ]
        return {"batchItemFailures": failures}

    source = EventSource("f", "dynamodb", "t", batch_size=10, max_retries=2)
    mapping = StreamMapping(source, function, arn, streams, sqs, failure_url)
    # When
    for _ in range(6):
        mapping.poll()
    # Then: first the whole batch, then retries from "b" (a is checkpointed), then "b" is set aside
    assert calls[0] == ["a", "b", "c"]
    assert calls[1] == ["b", "c"] and calls[2] == ["b", "c"]
    assert ["c"] in calls
    assert not any("a" in c for c in calls[1:])
    parked = sqs.receive_message(QueueUrl=failure_url, MaxNumberOfMessages=10)["Messages"]
    assert len(parked) == 1
    assert json.loads(parked[0]["Body"])["record"]["dynamodb"]["NewImage"]["id"]["S"] == "b"


def test_a_failed_sqs_message_is_redriven_to_the_dead_letter_queue(emulated):
    # Given a queue with a redrive policy and a function that fails one message
    _, _, sqs, _ = emulated
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="q",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=url, MessageBody="good")
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    handled = []

    def function(event, context):
        failures = []
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
            if record["body"] == "bad":
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                handled.append(record["body"])
        return {"batchItemFailures": failures}

    mapping = QueueMapping(EventSource("f", "sqs", "q"), function, url, arn, sqs)
    # When: polled until the bad message has been received more than the maximum
    import time

    for _ in range(5):
        mapping.poll()
        time.sleep(1.1)
    # Then
    assert handled == ["good"]
    parked = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in parked] == ["bad"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
