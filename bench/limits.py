"""The two limits the service is measured against, as bare Starlette apps (no auth, no framework).

LIMIT-A answers every request with the same bytes, read once from a file: what uvicorn and
Starlette cost on this machine. LIMIT-B computes the open-recommendations page per request with
ONE raw driver query (sqlite3 or psycopg, no SQLAlchemy) and orjson: the floor of database plus
serialisation. It returns the page the service returns (same filters, order, nested items,
cursor and total; tests/test_bench_limits.py checks it) for the parameters the benchmark uses:
`status` (repeatable), `region`, `overdue`, `limit`, `cursor`. LIMIT-B′ is the same app with
the total cached by data revision (BENCH_CACHE_TOTALS=1), the floor of a service that does so.

Run under uvicorn with the factory flag, configured from the environment:

    BENCH_BYTES_FILE=page.json uvicorn --factory bench.limits:limit_a --workers 1
    BENCH_DATABASE_URL=sqlite:///bench/data/sqlite-10k.db uvicorn --factory bench.limits:limit_b
"""

import base64
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/api/v1/recommendations"
ACTIVE = ("open", "in_progress")
LOCAL_ZONE = ZoneInfo("Europe/Tirane")
OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
JSON = "application/json"


def limit_a() -> Starlette:
    """Return the app that serves the bytes of BENCH_BYTES_FILE for every GET."""
    body = Path(os.environ["BENCH_BYTES_FILE"]).read_bytes()

    async def page(_request: Request) -> Response:
        return Response(body, media_type=JSON)

    return Starlette(routes=[Route("/{path:path}", page)])


def limit_b() -> Starlette:
    """Return the app that computes the page per request on BENCH_DATABASE_URL.

    With BENCH_CACHE_TOTALS=1 (LIMIT-B′) the query reads the data revision instead of
    counting, and totals are counted once per (revision, filters), as the service caches them.
    """
    cache = os.environ.get("BENCH_CACHE_TOTALS") == "1"
    pages = Pages(os.environ["BENCH_DATABASE_URL"], cache_totals=cache)

    def recommendations(request: Request) -> Response:
        # A plain `def`: Starlette runs it in its thread pool, as FastAPI runs the service's.
        params = request.query_params
        body = pages.page(
            status=params.getlist("status"),
            region=params.get("region"),
            overdue=_flag(params.get("overdue")),
            limit=int(params.get("limit", 50)),
            cursor=params.get("cursor"),
        )
        return Response(body, media_type=JSON)

    return Starlette(routes=[Route(PATH, recommendations)])


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() in {"true", "1", "yes", "on"}


def connect(url: str) -> Callable[[], Any]:
    """Return a function opening a raw DB-API connection for a SQLAlchemy-style URL."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        path = url.split("///", 1)[1]

        def open_sqlite() -> Any:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA foreign_keys=ON")
            return connection

        return open_sqlite
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)

    def open_postgres() -> Any:
        # UTC sessions, as the service's engine sets them, so timestamps read back in UTC.
        return psycopg.connect(conninfo, autocommit=True, options="-c timezone=UTC")

    return open_postgres


class Pages:
    """The page query, one raw connection per thread."""

    def __init__(self, url: str, *, connection: Any = None, cache_totals: bool = False) -> None:
        self.sqlite = urlsplit(url).scheme.startswith("sqlite")
        self.cache_totals = cache_totals
        self._totals: dict[tuple[Any, ...], int] = {}
        self.mark = "?" if self.sqlite else "%s"
        self._open = connect(url)
        self._local = threading.local()
        self._fixed = connection
        first = connection or self._open()
        self.regions = {
            row[0]: {"code": row[1], "name": row[2]}
            for row in first.execute("SELECT id, code, name FROM region").fetchall()
        }
        if connection is None:
            first.close()

    def _connection(self) -> Any:
        if self._fixed is not None:
            return self._fixed
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    def page(
        self,
        *,
        status: list[str],
        region: str | None = None,
        overdue: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
        today: date | None = None,
    ) -> bytes:
        """Return the JSON bytes of one page of the list for these parameters."""
        today = today or datetime.now(LOCAL_ZONE).date()
        where, params = self._filters(status, region, overdue, today)
        dated_only = overdue is True
        sql, page_params = self._page_sql(where, params, limit, cursor, dated_only)
        connection = self._connection()
        if not self.cache_totals:
            rows = connection.execute(sql, [*page_params, *params]).fetchall()
            return orjson.dumps(self._assemble(rows, limit, today, rows[0][23]), option=OPTIONS)
        rows = connection.execute(sql, page_params).fetchall()
        key = (rows[0][23], where, *params)
        total = self._totals.get(key)
        if total is None:
            count = f"SELECT count(*) FROM recommendation WHERE {where}"
            total = self._totals[key] = connection.execute(count, params).fetchone()[0]
        return orjson.dumps(self._assemble(rows, limit, today, total), option=OPTIONS)

    def _filters(
        self, status: list[str], region: str | None, overdue: bool | None, today: date
    ) -> tuple[str, list[Any]]:
        m = self.mark
        where: list[str] = []
        params: list[Any] = []
        statuses = sorted(set(status)) if status else None
        if overdue is True:
            # Overdue is "due before today and active": fold it into the status list.
            statuses = [s for s in (statuses or ACTIVE) if s in ACTIVE]
            where.append(f"due_on < {m}")
            params.append(self._date(today))
        elif overdue is False:
            active = ", ".join(m for _ in ACTIVE)
            where.append(f"(due_on IS NULL OR due_on >= {m} OR status NOT IN ({active}))")
            params += [self._date(today), *ACTIVE]
        if statuses is not None:
            where.insert(0, f"status IN ({', '.join(m for _ in statuses) or 'NULL'})")
            params[:0] = statuses
        if region:
            where.insert(0, f"region_id = {m}")
            params.insert(0, int(region.removeprefix("AL-")))
        return " AND ".join(where) or "1 = 1", params

    def _date(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def _page_sql(
        self, where: str, params: list[Any], limit: int, cursor: str | None, dated_only: bool
    ) -> tuple[str, list[Any]]:
        """Build the one query: the page's ids over the (…, due_on, id) indexes, then details.

        Keyset over `due_on NULLS LAST, id`: the dated rows after the cursor by row-value
        comparison (an index range on both engines), then the undated ones by id.
        """
        m = self.mark
        columns = (
            "id, key, text, status, due_on, version, problem_id, activity_id, region_id, "
            "body_id, meeting_id, created_at, updated_at"
        )
        after = _decode(cursor) if cursor else None
        branches: list[str] = []
        branch_params: list[Any] = []
        if after is None or after[0] is not None:
            keyset = ""
            if after is not None:
                keyset = f" AND (due_on, id) > ({m}, {m})"
            branches.append(
                f"SELECT * FROM (SELECT {columns} FROM recommendation WHERE {where} "
                f"AND due_on IS NOT NULL{keyset} ORDER BY due_on, id LIMIT {m}) AS dated"
            )
            branch_params += [*params]
            if after is not None:
                branch_params += [self._date(date.fromisoformat(after[0])), after[1]]
            branch_params.append(limit + 1)
        undated_after = f" AND id > {m}" if after is not None and after[0] is None else ""
        # Filters on the due date leave no undated row: PostgreSQL would not see it and would
        # walk the whole table looking for one.
        if not dated_only:
            # "due_on, id" rather than "id" (the same order here) so the planner takes the
            # (…, status, due_on, id) index rather than walking the primary key.
            branches.append(
                f"SELECT * FROM (SELECT {columns} FROM recommendation WHERE {where} "
                f"AND due_on IS NULL{undated_after} ORDER BY due_on, id LIMIT {m}) AS undated"
            )
            branch_params += [*params]
            if undated_after:
                branch_params.append(after[1])  # type: ignore[index]
            branch_params.append(limit + 1)
        total = (
            "SELECT value AS total FROM data_revision"
            if self.cache_totals
            else f"SELECT count(*) AS total FROM recommendation WHERE {where}"
        )
        sql = (
            f"WITH page AS (SELECT * FROM ({' UNION ALL '.join(branches)}) AS candidates "
            f"ORDER BY due_on IS NULL, due_on, id LIMIT {m}) "
            "SELECT p.id, p.key, p.text, p.status, p.due_on, p.version, p.problem_id, "
            "p.region_id, p.created_at, p.updated_at, p.meeting_id, m.held_on, m.title, "
            "b.id, b.kind, b.name, rr.lead, i.id, i.name, i.abbreviation, "
            "a.id, a.action_plan_id, a.code, c.total "
            # The count leads, so an empty page (no match, or past the end) still has its row.
            f"FROM ({total}) AS c "
            "LEFT JOIN page p ON 1 = 1 LEFT JOIN meeting m ON m.id = p.meeting_id "
            "LEFT JOIN body b ON b.id = p.body_id "
            "LEFT JOIN recommendation_responsible rr ON rr.recommendation_id = p.id "
            "LEFT JOIN institution i ON i.id = rr.institution_id "
            "LEFT JOIN activity a ON a.id = p.activity_id "
            "ORDER BY p.due_on IS NULL, p.due_on, p.id, rr.lead DESC, rr.position, i.id"
        )
        return sql, [*branch_params, limit + 1]

    def _assemble(self, rows: list[Any], limit: int, today: date, total: int) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        today_value = self._date(today)
        stamp = _sqlite_stamp if self.sqlite else _same
        for row in rows:
            if row[0] is None:
                break
            if last is None or last["id"] != row[0]:
                if len(items) == limit + 1:
                    break
                last = {
                    "id": row[0],
                    "key": row[1],
                    "text": row[2],
                    "status": row[3],
                    "due_on": row[4],
                    "overdue": row[4] is not None and row[4] < today_value and row[3] in ACTIVE,
                    "version": row[5],
                    "meeting": {
                        "id": row[10],
                        "held_on": row[11],
                        "title": row[12],
                        "body": {"id": row[13], "kind": row[14], "name": row[15]},
                        "region": self.regions.get(row[7]),
                    },
                    "problem_id": row[6],
                    "responsible": [],
                    "activity": (
                        {"id": row[20], "plan_id": row[21], "code": row[22]}
                        if row[20] is not None
                        else None
                    ),
                    "created_at": stamp(row[8]),
                    "updated_at": stamp(row[9]),
                }
                items.append(last)
            if row[17] is not None:
                last["responsible"].append(
                    {
                        "institution": {"id": row[17], "name": row[18], "abbreviation": row[19]},
                        "lead": bool(row[16]),
                    }
                )
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            due_on = items[-1]["due_on"]
            raw = orjson.dumps(["due_on", _iso(due_on), items[-1]["id"]])
            next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {"items": items, "next_cursor": next_cursor, "total": total}


def _decode(cursor: str) -> list[Any]:
    data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return list(data[1:])


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _same(value: Any) -> Any:
    return value


def _sqlite_stamp(value: str) -> str:
    """Return SQLAlchemy's stored SQLite timestamp as the API writes it (RFC 3339, `Z`)."""
    if len(value) == 26 and value[10] == " ":
        # "YYYY-MM-DD HH:MM:SS.ffffff"; isoformat() leaves out zero microseconds.
        text = value[:19] if value.endswith(".000000") else value
        return text[:10] + "T" + text[11:] + "Z"
    return datetime.fromisoformat(value).isoformat().replace("+00:00", "") + "Z"
