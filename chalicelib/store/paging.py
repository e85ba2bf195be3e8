"""One page of a newest-first listing by (created_at, id), the shape of the exchange and payment lists:
the index is queried from the cursor's instant down, and one more item than asked is read, so the last
page hands out no cursor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

M = TypeVar("M", bound=Any)  # a model with created_at and id
Position = tuple[str, str]  # (created_at, id) of the last item of the previous page


def after_cursor(models: Iterable[M], after: Position | None, limit: int) -> list[M]:
    """Up to `limit` + 1 items of a newest-first query that come after `after`: the query starts at the
    cursor's instant, so the previous page's items of that instant are skipped here."""
    found: list[M] = []
    for model in models:
        if after is not None and (model.created_at, model.id) >= after:
            continue
        found.append(model)
        if len(found) > limit:
            break
    return found


def page_of(ordered: Sequence[M], limit: int) -> tuple[list[M], Position | None]:
    """The first `limit` items, and where the next page starts if there is one."""
    page = list(ordered[:limit])
    return page, ((page[-1].created_at, page[-1].id) if len(ordered) > limit else None)
