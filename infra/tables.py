"""A table's shape read from its PynamoDB model through the public API (attributes, index Meta), written
out as boto3's CreateTable arguments (the local stack) or as a CloudFormation table (the template).

Both shapes come from one `TableShape`, so the emulator and the deployment cannot drift. PynamoDB's
private `_get_schema()` gives boto3's shape only, and copying it into a template was wrong twice
(`StreamEnabled` is no CloudFormation property; key order is free in boto3 but HASH must come first).
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models import short_name


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[tuple[str, str], ...]  # (attribute, HASH|RANGE), HASH first
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: tuple[str, ...] = ()

    def key_schema(self) -> list[dict[str, str]]:
        return [{"AttributeName": name, "KeyType": kind} for name, kind in self.keys]

    def definition(self) -> dict[str, Any]:
        projection: dict[str, Any] = {"ProjectionType": self.projection}
        if self.non_key_attributes:
            projection["NonKeyAttributes"] = list(self.non_key_attributes)
        return {"IndexName": self.name, "KeySchema": self.key_schema(), "Projection": projection}


@dataclass(frozen=True)
class TableShape:
    name: str
    short_name: str
    keys: tuple[tuple[str, str], ...]
    attribute_types: tuple[tuple[str, str], ...]  # every key attribute of the table and its indexes
    indexes: tuple[IndexShape, ...]
    stream_view_type: str | None
    ttl_attribute: str | None = None  # the model's TTLAttribute: DynamoDB deletes items past it

    def time_to_live(self) -> dict[str, Any] | None:
        """The TTL setting, in the shape both UpdateTimeToLive and CloudFormation take."""
        return {"AttributeName": self.ttl_attribute, "Enabled": True} if self.ttl_attribute else None

    def key_schema(self) -> list[dict[str, str]]:
        return [{"AttributeName": name, "KeyType": kind} for name, kind in self.keys]

    def _common(self) -> dict[str, Any]:
        common: dict[str, Any] = {
            "TableName": self.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": kind} for name, kind in self.attribute_types
            ],
            "KeySchema": self.key_schema(),
        }
        if self.indexes:
            common["GlobalSecondaryIndexes"] = [index.definition() for index in self.indexes]
        return common

    def create_table_args(self) -> dict[str, Any]:
        """boto3 `create_table` keyword arguments."""
        args = self._common()
        if self.stream_view_type:
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream_view_type}
        return args

    def cloudformation_properties(self) -> dict[str, Any]:
        """`AWS::DynamoDB::Table` properties: a stream is on when it has a view type."""
        properties = self._common()
        if self.stream_view_type:
            properties["StreamSpecification"] = {"StreamViewType": self.stream_view_type}
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        properties["SSESpecification"] = {"SSEEnabled": True}
        if self.ttl_attribute:
            properties["TimeToLiveSpecification"] = self.time_to_live()
        return properties


def _keys(attributes: dict[str, Attribute]) -> tuple[tuple[str, str], ...]:
    hash_keys = [a.attr_name for a in attributes.values() if a.is_hash_key]
    range_keys = [a.attr_name for a in attributes.values() if a.is_range_key]
    return tuple([(name, "HASH") for name in hash_keys] + [(name, "RANGE") for name in range_keys])


def _key_types(attributes: dict[str, Attribute]) -> dict[str, str]:
    return {a.attr_name: a.attr_type for a in attributes.values() if a.is_hash_key or a.is_range_key}


def table_shape(model: type[Model], table_name: str) -> TableShape:
    attributes = model.get_attributes()
    types = _key_types(attributes)
    indexes = []
    for _, index in inspect.getmembers(model, lambda o: isinstance(o, GlobalSecondaryIndex)):
        index_attributes = index.Meta.attributes
        types.update(_key_types(index_attributes))
        projection = index.Meta.projection
        indexes.append(
            IndexShape(
                name=index.Meta.index_name,
                keys=_keys(index_attributes),
                projection=projection.projection_type,
                non_key_attributes=tuple(getattr(projection, "non_key_attributes", None) or ()),
            )
        )
    return TableShape(
        name=table_name,
        short_name=short_name(model),
        keys=_keys(attributes),
        attribute_types=tuple(sorted(types.items())),
        indexes=tuple(sorted(indexes, key=lambda index: index.name)),
        stream_view_type=getattr(model.Meta, "stream_view_type", None),
        ttl_attribute=next((a.attr_name for a in attributes.values() if isinstance(a, TTLAttribute)), None),
    )


# The last release's indexes (see `released_indexes`): rewritten after each release with
# `python -m infra.tables --write-released COMMIT`.
RELEASED_INDEXES = Path(__file__).parent / "released_indexes.json"


def indexes_by_table() -> dict[str, list[str]]:
    """Every table's global secondary indexes, by the models."""
    from chalicelib.store.models import ALL_MODELS

    return {short_name(m): sorted(i.Meta.index_name for i in m._indexes.values()) for m in ALL_MODELS}


def released_indexes() -> dict[str, list[str]]:
    """The indexes each table had at the last release. DynamoDB creates or deletes one global secondary
    index of a table per update (CloudFormation fails an update asking for more): a test holds the
    models to at most one change per table against this record."""
    return dict(json.loads(RELEASED_INDEXES.read_text(encoding="utf-8"))["indexes"])


if __name__ == "__main__":
    # After a release: record what it deployed, so the next one is held to one change per table.
    if len(sys.argv) != 3 or sys.argv[1] != "--write-released":
        sys.exit("usage: python -m infra.tables --write-released COMMIT")
    record = {"released": sys.argv[2], "indexes": indexes_by_table()}
    RELEASED_INDEXES.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
