"""The one mechanism for optimistic writes: a DynamoDB transaction whose conditions (the items'
VersionAttribute, uniqueness guards, counters) either all hold or nothing is written.

A failed condition comes out as `StaleVersion` (TransactWrite reorders items, so which item failed
cannot be told by position: a caller that needs to know looks again after the failure). A transaction
cancelled because another one was in flight on one of its items comes out as `Contended`: nothing was
written either, but nothing read is known to be stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.store.models import MetaModel


class StaleVersion(Exception):
    """A condition of the write failed: the item changed (or exists, or a limit is reached) since read."""


class Contended(Exception):
    """DynamoDB cancelled the write for another transaction in flight on one of its items
    (TransactionConflict). What was read may still be current, so a caller that pinned the version it
    read must not be told it is stale: the same write is simply tried again."""


def _cancelled_for(exc: TransactWriteError, code: str) -> bool:
    # Only a ClientError carries reasons; a connection failure wraps one that has none.
    reasons = getattr(exc.cause, "cancellation_reasons", None) or ()
    return any(reason is not None and reason.code == code for reason in reasons)


def condition_failed(exc: TransactWriteError) -> bool:
    return _cancelled_for(exc, "ConditionalCheckFailed")


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """All the writes made on the yielded TransactWrite, atomically; StaleVersion if a condition fails,
    Contended if another transaction held one of the items."""
    # Every table shares one region and endpoint: any model's connection carries the transaction.
    connection = MetaModel._get_connection().connection
    try:
        with TransactWrite(connection=connection) as tx:
            yield tx
    except TransactWriteError as exc:
        # A failed condition beside a conflict is still a real change, which a pinned caller must hear of.
        if condition_failed(exc):
            raise StaleVersion(str(exc)) from exc
        if _cancelled_for(exc, "TransactionConflict"):
            raise Contended(str(exc)) from exc
        raise
