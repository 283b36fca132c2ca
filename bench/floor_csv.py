"""The CSV export's floor: the bytes of `GET /recommendations?format=csv` from a raw cursor.

One streaming join per pass (recommendation, meeting, body, responsible institutions, activity),
grouped in Python: the dated recommendations in (due_on, id) order, then the undated ones by id,
so each pass follows an index and neither engine sorts a million rows.
"""

import csv
import io
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bench.limits import _sqlite_stamp, connect

HEADER = [
    "id",
    "key",
    "region_code",
    "region",
    "body",
    "meeting_date",
    "meeting_title",
    "status",
    "due_on",
    "overdue",
    "responsible",
    "lead_institution",
    "problem_id",
    "activity_code",
    "text",
    "created_at",
]
ACTIVE = ("open", "in_progress")
CHUNK_ROWS = 1000
PASSES = (
    "r.due_on IS NOT NULL ORDER BY r.due_on, r.id, rr.lead DESC, rr.position, i.id",
    "r.due_on IS NULL ORDER BY r.id, rr.lead DESC, rr.position, i.id",
)
SELECT = (
    "SELECT r.id, r.key, r.region_id, b.name, m.held_on, m.title, r.status, r.due_on, "
    "rr.lead, i.name, r.problem_id, a.code, r.text, r.created_at "
    "FROM recommendation r JOIN meeting m ON m.id = r.meeting_id JOIN body b ON b.id = r.body_id "
    "LEFT JOIN recommendation_responsible rr ON rr.recommendation_id = r.id "
    "LEFT JOIN institution i ON i.id = rr.institution_id "
    "LEFT JOIN activity a ON a.id = r.activity_id WHERE "
)


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def write_csv(url: str, out: Writable) -> int:
    """Write every recommendation as the service's English CSV export; return the row count."""
    sqlite = url.startswith("sqlite")
    connection = connect(url)()
    today = datetime.now(ZoneInfo("Europe/Tirane")).date()
    today_value: Any = today.isoformat() if sqlite else today
    stamp = _sqlite_stamp if sqlite else _rfc3339
    regions = {
        row[0]: (row[1], row[2])
        for row in connection.execute("SELECT id, code, name FROM region").fetchall()
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    count = 0
    pending: list[Any] | None = None
    names: list[str] = []
    lead: str = ""

    def flush_row() -> None:
        nonlocal count
        assert pending is not None
        rid, key, region_id, body, held_on, title, status, due_on = pending[:8]
        code, region = regions[region_id]
        overdue = due_on is not None and due_on < today_value and status in ACTIVE
        writer.writerow(
            [
                rid,
                key,
                code,
                region,
                body,
                _iso(held_on),
                title,
                status,
                "" if due_on is None else _iso(due_on),
                "true" if overdue else "false",
                "; ".join(names),
                lead,
                "" if pending[10] is None else pending[10],
                "" if pending[11] is None else pending[11],
                pending[12],
                stamp(pending[13]),
            ]
        )
        count += 1

    try:
        for where in PASSES:
            for row in _stream(connection, SELECT + where, sqlite):
                if pending is None or row[0] != pending[0]:
                    if pending is not None:
                        flush_row()
                        if count % CHUNK_ROWS == 0:
                            out.write(buffer.getvalue().encode())
                            buffer.seek(0)
                            buffer.truncate()
                    pending, names, lead = row, [], ""
                if row[9] is not None:
                    names.append(row[9])
                    if row[8] and not lead:
                        lead = row[9]
        if pending is not None:
            flush_row()
        out.write(buffer.getvalue().encode())
    finally:
        connection.close()
    return count


def _stream(connection: Any, sql: str, sqlite: bool) -> Any:
    if sqlite:
        yield from connection.execute(sql)
        return
    # A server-side cursor, so a million rows never sit in the client at once.
    with connection.transaction(), connection.cursor(name="export") as cursor:
        cursor.itersize = 2000
        cursor.execute(sql)
        yield from cursor


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
