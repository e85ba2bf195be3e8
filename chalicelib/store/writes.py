"""The one mechanism for optimistic writes: a DynamoDB transaction whose conditions (the items'
VersionAttribute, uniqueness guards, counters) either all hold or nothing is written.

A failed condition comes out as `StaleVersion` (TransactWrite reorders items, so which item failed
cannot be told by position: a caller that needs to know looks again after the failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.store.models import MetaModel


class StaleVersion(Exception):
    """A condition of the write failed: the item changed (or exists, or a limit is reached) since read."""


def condition_failed(exc: TransactWriteError) -> bool:
    return any(
        reason is not None and reason.code == "ConditionalCheckFailed" for reason in exc.cancellation_reasons
    )


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """All the writes made on the yielded TransactWrite, atomically; StaleVersion if a condition fails."""
    # Every table shares one region and endpoint: any model's connection carries the transaction.
    connection = MetaModel._get_connection().connection
    try:
        with TransactWrite(connection=connection) as tx:
            yield tx
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise StaleVersion(str(exc)) from exc
        raise
