"""Items of several tables in one strongly consistent BatchGetItem: a use case that needs a few items
before its write reads them in one call rather than one call each."""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib.store.aws import client

M = TypeVar("M", bound=Model)
_MAX_ROUNDS = 5  # unprocessed keys (throttling) are asked again, a few times


def _hash_key_name(model: type[Model]) -> str:
    return next(name for name, attr in model.get_attributes().items() if attr.is_hash_key)


def get_items(wanted: dict[type[Model], list[str]]) -> dict[type[Model], dict[str, Any]]:
    """For each model, the items found under these hash keys (tables without a range key), by key."""
    by_table = {m.Meta.table_name: m for m in wanted if wanted[m]}
    request: dict[str, Any] = {
        m.Meta.table_name: {
            "Keys": [{_hash_key_name(m): {"S": key}} for key in sorted(set(wanted[m]))],
            "ConsistentRead": True,
        }
        for m in by_table.values()
    }
    found: dict[type[Model], dict[str, Any]] = {m: {} for m in wanted}
    for _ in range(_MAX_ROUNDS):
        if not request:
            break
        answer = client("dynamodb").batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            model = by_table[table]
            key_name = _hash_key_name(model)
            for item in items:
                found[model][item[key_name]["S"]] = model.from_raw_data(item)
        request = answer.get("UnprocessedKeys") or {}
    if request:
        raise RuntimeError("DynamoDB left keys unprocessed after retries")
    return found
