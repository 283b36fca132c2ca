"""Keyset pagination: opaque cursors over (sort key…, id), pages and their Link header.

A cursor records the sort it belongs to and the sort-key values of the last row served; the
next page continues strictly after that row, so rows inserted meanwhile are neither skipped
nor repeated, and page 2,000 costs what page 1 costs.
"""

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, tuple_

from app.errors import Invalid

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LimitQuery = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description="Page size, 1–200.", examples=[DEFAULT_LIMIT]),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Opaque cursor from the previous page's `next_cursor`; omit for page one.",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a collection."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    total: int = Field(description="Number of items matching the filters, over all pages.")


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset ordering; `parse` turns a cursor value back into a SQL value."""

    column: Any
    descending: bool = False
    nullable: bool = False
    parse: Callable[[Any], Any] = lambda value: value

    def order_by(self) -> Any:
        ordered = self.column.desc() if self.descending else self.column.asc()
        return ordered.nulls_last() if self.nullable else ordered

    def after(self, value: Any) -> ColumnElement[bool]:
        """Rows strictly after `value` in this key's order (NULLs sort last either way)."""
        if value is None:
            return false()
        beyond = self.column < value if self.descending else self.column > value
        return or_(beyond, self.column.is_(None)) if self.nullable else beyond

    def equal(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value


def parse_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def parse_datetime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Keyset:
    """A named ordering: sort keys ending with a unique, non-null key (the id)."""

    name: str
    keys: Sequence[SortKey]

    def order_by(self) -> list[Any]:
        return [key.order_by() for key in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the row whose sort-key values are `values`."""
        directions = {key.descending for key in self.keys}
        nullable = any(key.nullable for key in self.keys)
        if len(directions) == 1 and not nullable and None not in values:
            # A row-value comparison is one range of a matching index on both engines; the
            # equivalent OR/AND tree below is not recognised as one and scans.
            columns = tuple_(*(key.column for key in self.keys))
            row = tuple_(
                *(literal(v, key.column.type) for key, v in zip(self.keys, values, strict=True))
            )
            return columns < row if directions == {True} else columns > row
        condition: ColumnElement[bool] | None = None
        for key, value in reversed(list(zip(self.keys, values, strict=True))):
            if condition is None:
                condition = key.after(value)
            else:
                condition = or_(key.after(value), and_(key.equal(value), condition))
        assert condition is not None
        return condition

    def encode(self, row_values: Sequence[Any]) -> str:
        """Make an opaque cursor that continues after a row with these sort-key values."""
        raw = orjson.dumps([self.name, *[_jsonable(v) for v in row_values]])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """Read a cursor made by `encode` for this same ordering; 422 for anything else."""
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(data, list) or data[0] != self.name:
                raise ValueError("cursor of another ordering")
            values = data[1:]
            if len(values) != len(self.keys):
                raise ValueError("wrong cursor length")
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise ValueError("NUL in a cursor value")  # only a forged cursor holds one
            return [key.parse(value) for key, value in zip(self.keys, values, strict=True)]
        except (ValueError, TypeError, IndexError, binascii.Error, orjson.JSONDecodeError):
            raise Invalid(
                [
                    {
                        "parameter": "cursor",
                        "detail": "is not a cursor of this list with this sort; "
                        "start again without it",
                    }
                ]
            ) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def paginate(
    session: Any,
    stmt: Select[Any],
    keyset: Keyset,
    *,
    limit: int,
    cursor: str | None,
    row_keys: Callable[[Any], Sequence[Any]],
    count: bool = True,
) -> tuple[list[Any], str | None, int]:
    """Run one page of `stmt` (already filtered) and return (rows, next_cursor, total).

    `row_keys(row)` returns the row's values for the keyset's sort keys.
    """
    total = (
        session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        if count
        else 0
    )
    values = keyset.decode(cursor) if cursor else None
    if keyset.keys[0].nullable:
        rows = _page_nulls_last(session, stmt, keyset, values, limit + 1)
    else:
        paged = stmt.order_by(*keyset.order_by())
        if values is not None:
            paged = paged.where(keyset.after(values))
        rows = list(session.execute(paged.limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = keyset.encode(row_keys(rows[-1]))
    return rows, next_cursor, total


def _page_nulls_last(
    session: Any, stmt: Select[Any], keyset: Keyset, values: Sequence[Any] | None, wanted: int
) -> list[Any]:
    """Page a keyset whose first key may be NULL (NULLs last) as two index ranges.

    First the rows with a value, after the cursor by a plain row comparison; then, when those
    run out, the NULL rows by the remaining keys. One query with `OR key IS NULL` would be
    simpler, but neither planner can answer it from one index range: deep pages would scan.
    """
    lead, rest = keyset.keys[0], Keyset(keyset.name, keyset.keys[1:])
    rows: list[Any] = []
    if values is None or values[0] is not None:
        valued = Keyset(keyset.name, [replace(lead, nullable=False), *rest.keys])
        head = stmt.where(lead.column.is_not(None)).order_by(*valued.order_by())
        if values is not None:
            head = head.where(valued.after(values))
        rows = list(session.execute(head.limit(wanted)).all())
    if len(rows) < wanted:
        tail = stmt.where(lead.column.is_(None)).order_by(*rest.order_by())
        if values is not None and values[0] is None:
            tail = tail.where(rest.after(values[1:]))
        rows += session.execute(tail.limit(wanted - len(rows))).all()
    return rows


def next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    """Return the RFC 8288 Link header for the next page, if there is one."""
    if next_cursor is None:
        return {}
    url = request.url.include_query_params(cursor=next_cursor)
    return {"Link": f'<{url}>; rel="next"'}


class TotalCache:
    """Totals of filtered lists by (data revision, query): counting a million rows per page
    request would cost more than the page itself, and the revision moves with every write."""

    def __init__(self, size: int = 2048) -> None:
        self._entries: OrderedDict[Hashable, int] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], int]) -> int:
        """Return the cached total for `key`, computing and keeping it on a miss."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        total = compute()
        with self._lock:
            self._entries[key] = total
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return total

    def clear(self) -> None:
        """Forget every cached total."""
        with self._lock:
            self._entries.clear()


totals = TotalCache()
