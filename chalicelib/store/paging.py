"""One page of a newest-first listing by (instant, id), the shape of the exchange, payment and stuck-effect
lists: the index is queried from the cursor's instant down, and one more item than asked is read, so the
last page hands out no cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

M = TypeVar("M", bound=Any)  # a model with an instant (created_at unless said) and id
Position = tuple[str, str]  # (instant, id) of the last item of the previous page


def by_creation(model: Any) -> Position:
    return (model.created_at, model.id)


def after_cursor(
    models: Iterable[M], after: Position | None, limit: int, key: Callable[[M], Position] = by_creation
) -> list[M]:
    """Up to `limit` + 1 items of a newest-first query that come after `after`: the query starts at the
    cursor's instant, so the previous page's items of that instant are skipped here."""
    found: list[M] = []
    for model in models:
        if after is not None and key(model) >= after:
            continue
        found.append(model)
        if len(found) > limit:
            break
    return found


def page_of(
    ordered: Sequence[M], limit: int, key: Callable[[M], Position] = by_creation
) -> tuple[list[M], Position | None]:
    """The first `limit` items, and where the next page starts if there is one."""
    page = list(ordered[:limit])
    return page, (key(page[-1]) if len(ordered) > limit else None)
