"""moto as the product's development environment: DynamoDB calls serialised as DynamoDB serialises them.

moto's DynamoDB backend has no lock. Under threads (the local stack's servers, the race tests) a
transaction snapshots whole tables, applies its items and, when a condition fails, puts the snapshot
back: a write that committed in between is undone, and a condition checked before another thread's
write passes after it. Reads racing a write can see a transaction half applied, or fail while a
snapshot is taken. One re-entrant lock held for every backend call, and for the API calls that read
and write in one step, gives what DynamoDB gives: each item write, each conditional check with its
write, and each transaction happen at once. BatchWriteItem and BatchGetItem are not atomic in
DynamoDB either; each of their items is (they go through the backend's item calls).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.RLock()
_installed = False

# API calls that do more than one backend call and must not be interleaved: a put or update reads the
# old item for ReturnValues before writing; TransactGetItems reads its items one by one.
_HANDLER_CALLS = ("put_item", "update_item", "delete_item", "transact_get_items")


def _serialised(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return function(*args, **kwargs)

    # A mark on the function object, so wrapping twice is seen; functions take attributes at run time.
    call.__cxc_serialised__ = True  # type: ignore[attr-defined]
    return call


def _wrap(cls: type, names: list[str] | tuple[str, ...]) -> None:
    for name in names:
        function = cls.__dict__[name]
        if not getattr(function, "__cxc_serialised__", False):
            setattr(cls, name, _serialised(function))


def _public_functions(cls: type) -> list[str]:
    # Generator functions would be locked only while the generator is created: none reads items.
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(value) and not inspect.isgeneratorfunction(value)
    ]


def serialise_dynamodb() -> None:
    """Patch moto's DynamoDB (and DynamoDB Streams) in this process; safe to call more than once.

    The patch is on moto's classes, so it covers `mock_aws` and `ThreadedMotoServer` alike, whichever
    starts first.
    """
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    _wrap(DynamoDBBackend, _public_functions(DynamoDBBackend))
    # Streams too: a record a transaction added and then rolled back must never be read.
    _wrap(DynamoDBStreamsBackend, _public_functions(DynamoDBStreamsBackend))
    _wrap(DynamoHandler, _HANDLER_CALLS)
    _installed = True
