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
from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, tuple_

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

    def order_by(self, on: Any = None) -> Any:
        """Order by this key, or by the column of the same name of the selectable `on`."""
        column = self.column if on is None else on.c[self.column.name]
        ordered = column.desc() if self.descending else column.asc()
        return ordered.nulls_last() if self.nullable else ordered

    def after(self, value: Any) -> ColumnElement[bool]:
        """Rows strictly after `value` in this key's order (NULLs sort last either way)."""
        if value is None:
            return false()
        bound = self.parameter(value)
        beyond = self.column < bound if self.descending else self.column > bound
        return or_(beyond, self.column.is_(None)) if self.nullable else beyond

    def equal(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == self.parameter(value)

    def parameter(self, value: Any) -> Any:
        """The cursor's value for this key, as a named parameter (see Keyset.parameters)."""
        return bindparam(f"after_{self.column.name}", value, type_=self.column.type)


def parse_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def parse_datetime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Keyset:
    """A named ordering: sort keys ending with a unique, non-null key (the id)."""

    name: str
    keys: Sequence[SortKey]

    def order_by(self, on: Any = None) -> list[Any]:
        """Order by the keys, or by the columns of the same names of the selectable `on`."""
        return [key.order_by(on) for key in self.keys]

    def segments(
        self, stmt: Select[Any], values: Sequence[Any] | None, *, nulls: bool = True
    ) -> list[Select[Any]]:
        """Return `stmt` after the row with sort-key `values` as ordered index-range selects.

        Their rows, one select after the other, are the page's rows in order. A first key that
        may be NULL (NULLs last) gives two: the rows with a value, after the cursor by a plain
        row comparison, then the NULL rows by the remaining keys (`nulls=False` leaves those
        out, for filters no NULL can pass). One select with `OR key IS NULL` would be simpler,
        but neither planner answers it from one index range: deep pages would scan.
        """
        lead = self.keys[0]
        if not lead.nullable:
            paged = stmt.order_by(*self.order_by())
            return [paged if values is None else paged.where(self.after(values))]
        rest = Keyset(self.name, self.keys[1:])
        # Within a range the first key is never NULL: ordered as a plain column, it matches
        # a plain index forwards or backwards on both engines (NULLS LAST would not, DESC).
        valued = Keyset(self.name, [replace(lead, nullable=False), *rest.keys])
        found = []
        if values is None or values[0] is not None:
            head = stmt.where(lead.column.is_not(None)).order_by(*valued.order_by())
            found.append(head if values is None else head.where(valued.after(values)))
        if nulls:
            # Ordered by the (NULL) first key too, so that planners take the index it leads.
            tail = stmt.where(lead.column.is_(None)).order_by(*valued.order_by())
            after_null = values is not None and values[0] is None
            found.append(tail.where(rest.after(values[1:])) if after_null else tail)
        return found

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the row whose sort-key values are `values`."""
        directions = {key.descending for key in self.keys}
        nullable = any(key.nullable for key in self.keys)
        if len(directions) == 1 and not nullable and None not in values:
            # A row-value comparison is one range of a matching index on both engines; the
            # equivalent OR/AND tree below is not recognised as one and scans.
            columns = tuple_(*(key.column for key in self.keys))
            row = tuple_(*(key.parameter(v) for key, v in zip(self.keys, values, strict=True)))
            return columns < row if directions == {True} else columns > row
        condition: ColumnElement[bool] | None = None
        for key, value in reversed(list(zip(self.keys, values, strict=True))):
            if condition is None:
                condition = key.after(value)
            else:
                condition = or_(key.after(value), and_(key.equal(value), condition))
        assert condition is not None
        return condition

    def trim(
        self, rows: list[T], limit: int, row_keys: Callable[[T], Sequence[Any]]
    ) -> tuple[list[T], str | None]:
        """Cut the `limit + 1` rows fetched for a page to `limit`, with the next page's cursor."""
        if len(rows) <= limit:
            return rows, None
        return rows[:limit], self.encode(row_keys(rows[limit - 1]))

    def parameters(self, values: Sequence[Any]) -> dict[str, Any]:
        """The parameters `after(values)` binds, by name: to run a cached statement anew."""
        return {
            f"after_{key.column.name}": value
            for key, value in zip(self.keys, values, strict=True)
            if value is not None
        }

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
) -> tuple[list[Any], str | None, int]:
    """Run one page of `stmt` (already filtered) and return (rows, next_cursor, total).

    `row_keys(row)` returns the row's values for the keyset's sort keys.
    """
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    values = keyset.decode(cursor) if cursor else None
    rows: list[Any] = []
    for segment in keyset.segments(stmt, values):
        rows += session.execute(segment.limit(limit + 1 - len(rows))).all()
        if len(rows) > limit:
            break
    rows, next_cursor = keyset.trim(rows, limit, row_keys)
    return rows, next_cursor, total


def next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    """Return the RFC 8288 Link header for the next page, if there is one."""
    if next_cursor is None:
        return {}
    url = request.url.include_query_params(cursor=next_cursor)
    return {"Link": f'<{url}>; rel="next"'}


class LruCache(Generic[T]):
    """A bounded map of computed values, least recently used out first; thread-safe."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the value kept for `key`, computing and keeping it on a miss."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._entries.clear()


# Totals of filtered lists by (database, data revision, query): counting a million rows per
# page request would cost more than the page itself, and the revision moves with every write.
totals: LruCache[int] = LruCache(2048)
