"""The tables the local stack creates and the tables the template declares are the same tables."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.settings import get_settings
from chalicelib.store.models import ALL_MODELS
from infra.local.bootstrap import create_tables
from infra.resources import Resources
from infra.template import build


def _index(index: dict[str, Any]) -> tuple[Any, ...]:
    projection = index["Projection"]
    return (
        index["IndexName"],
        tuple((k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]),
        projection["ProjectionType"],
        tuple(sorted(projection.get("NonKeyAttributes", ()))),
    )


def _shape(table: dict[str, Any]) -> dict[str, Any]:
    """What both sides must agree on, from a DescribeTable answer or a template's properties."""
    stream = table.get("StreamSpecification") or {}
    return {
        "keys": tuple((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        "indexes": sorted(_index(i) for i in table.get("GlobalSecondaryIndexes", ())),
        "stream": stream.get("StreamViewType"),
        "ttl": table.get("TimeToLiveSpecification"),
    }


def _ttl(described: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeTimeToLive's answer in the template's shape."""
    ttl = described["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") != "ENABLED":
        return None
    return {"AttributeName": ttl["AttributeName"], "Enabled": True}


@pytest.fixture
def template_tables() -> dict[str, dict[str, Any]]:
    resources = build(Resources(get_settings()))["Resources"]
    return {
        r["Properties"]["TableName"]: r for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"
    }


def test_the_local_stack_and_the_template_define_the_same_tables(template_tables):
    # Given the tables the local stack creates in the emulator
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables(Resources(get_settings()), dynamodb)
        local = {
            name: _shape(
                {
                    **dynamodb.describe_table(TableName=name)["Table"],
                    "TimeToLiveSpecification": _ttl(dynamodb.describe_time_to_live(TableName=name)),
                }
            )
            for name in dynamodb.list_tables()["TableNames"]
        }
    # When the template's tables are read the same way
    declared = {name: _shape(table["Properties"]) for name, table in template_tables.items()}
    # Then they agree, table by table, and every model has one
    assert declared == local
    assert len(declared) == len(ALL_MODELS)
    assert any(shape["indexes"] for shape in declared.values())
    assert any(shape["stream"] for shape in declared.values())
    # Delivered outbox items and spent idempotency records expire (the models' TTL attributes)
    assert declared[get_settings().table_name("outbox")]["ttl"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert declared[get_settings().table_name("idempotency")]["ttl"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_template_tables_are_cloudformation_shaped_and_kept(template_tables):
    for name, table in template_tables.items():
        properties = table["Properties"]
        # CloudFormation wants the partition key first, in the table and in every index
        assert properties["KeySchema"][0]["KeyType"] == "HASH", name
        for index in properties.get("GlobalSecondaryIndexes", ()):
            assert index["KeySchema"][0]["KeyType"] == "HASH", (name, index["IndexName"])
        # boto3's StreamEnabled is no CloudFormation property
        assert "StreamEnabled" not in properties.get("StreamSpecification", {}), name
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name


def test_a_deploy_adds_or_removes_at_most_one_index_of_a_table():
    """DynamoDB creates or deletes one global secondary index of a table per update, and CloudFormation
    fails a stack update that asks for two on one table. The indexes of the last release are recorded in
    infra/released_indexes.json (rewritten at each release): against it, each table changes by at most
    one index, so the next deploy goes through in one update."""
    from infra.tables import indexes_by_table, released_indexes

    released = released_indexes()
    for table, indexes in indexes_by_table().items():
        if table not in released:
            continue  # a new table: created with all its indexes
        now, before = set(indexes), set(released[table])
        assert len(now ^ before) <= 1, (table, sorted(now - before), sorted(before - now))
