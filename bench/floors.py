"""Raw-driver floors without HTTP, and the benchmark's clean-up of the minutes it posts.

`floor_minutes` inserts the rows of a `POST /meetings` of the benchmark document, one
transaction per document; `floor_csv` writes the bytes of `GET /recommendations?format=csv`
from one streaming query per pass. This module runs either and prints its figures as JSON:

    python -m bench.floors minutes --url URL --workers 8 --seconds 5 --prefix BENCH-R1-
    python -m bench.floors csv --url URL
"""

import argparse
import json
import sys
import time
from typing import Any

from bench.floor_csv import write_csv
from bench.floor_minutes import _mark, benchmark_document, insert_minutes, minutes_rate
from bench.limits import connect

__all__ = ["benchmark_document", "insert_minutes", "minutes_rate", "write_csv"]


def stored_shape(url: str, external_ref: str) -> dict[str, Any] | None:
    """Describe what is stored for a meeting, without ids, times or hashes (None if absent)."""
    m = _mark(url)
    c = connect(url)()
    try:
        meeting = c.execute(
            "SELECT id, body_id, region_id, held_on, kind, title, title_folded, location, "
            "chair_name, chair_position, chair_institution_id, summary, agenda "
            f"FROM meeting WHERE external_ref = {m}",
            [external_ref],
        ).fetchone()
        if meeting is None:
            return None
        mid = meeting[0]
        queries = {
            "attendance": "SELECT institution_id, representatives, position FROM attendance "
            f"WHERE meeting_id = {m} ORDER BY position",
            "problem": "SELECT key, raised_by_id, theme, title, description, text_folded "
            f"FROM problem WHERE meeting_id = {m} ORDER BY key",
            "recommendation": "SELECT r.key, p.key, r.text, r.text_folded, r.status, r.due_on, "
            "r.body_id, r.region_id FROM recommendation r LEFT JOIN problem p "
            f"ON p.id = r.problem_id WHERE r.meeting_id = {m} ORDER BY r.key",
            "responsible": "SELECT r.key, x.institution_id, x.lead, x.position "
            "FROM recommendation_responsible x JOIN recommendation r "
            f"ON r.id = x.recommendation_id WHERE r.meeting_id = {m} ORDER BY r.key, x.position",
            "history": "SELECT r.key, s.from_status, s.to_status FROM "
            "recommendation_status_change s JOIN recommendation r ON r.id = s.recommendation_id "
            f"WHERE r.meeting_id = {m} ORDER BY r.key",
            "audit": "SELECT action, entity FROM audit_event WHERE entity = 'meeting' "
            f"AND entity_id = {m}",
        }
        shape: dict[str, Any] = {"meeting": _plain(meeting[1:])}
        for name, sql in queries.items():
            shape[name] = [_plain(row) for row in c.execute(sql, [mid]).fetchall()]
        return shape
    finally:
        c.close()


def _plain(row: Any) -> list[Any]:
    """Make a row comparable across drivers (JSON text vs objects, 0/1 vs booleans, dates)."""
    out = []
    for value in row:
        if isinstance(value, str) and value[:1] in "[{":
            value = json.loads(value)
        elif isinstance(value, bool):
            value = int(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out.append(value)
    return out


def delete_benchmark_meetings(url: str, prefix: str) -> int:
    """Delete the meetings whose external_ref starts with `prefix`, and every row of theirs."""
    m = _mark(url)
    c = connect(url)()
    try:
        c.execute("BEGIN IMMEDIATE" if url.startswith("sqlite") else "BEGIN")
        ids = [
            row[0]
            for row in c.execute(
                f"SELECT id FROM meeting WHERE external_ref LIKE {m}", [prefix + "%"]
            ).fetchall()
        ]
        if ids:
            meetings = "SELECT id FROM meeting WHERE external_ref LIKE " + m
            recs = f"SELECT id FROM recommendation WHERE meeting_id IN ({meetings})"
            for sql in (
                f"DELETE FROM recommendation_status_change WHERE recommendation_id IN ({recs})",
                f"DELETE FROM recommendation_responsible WHERE recommendation_id IN ({recs})",
                f"DELETE FROM recommendation WHERE meeting_id IN ({meetings})",
                f"DELETE FROM problem WHERE meeting_id IN ({meetings})",
                f"DELETE FROM attendance WHERE meeting_id IN ({meetings})",
                f"DELETE FROM audit_event WHERE entity = 'meeting' AND entity_id IN ({meetings})",
                f"DELETE FROM meeting WHERE external_ref LIKE {m}",
            ):
                c.execute(sql, [prefix + "%"])
            _bump_revision(c, url)
        c.execute("COMMIT")
        return len(ids)
    finally:
        c.close()


def _bump_revision(c: Any, url: str) -> None:
    """Count the deletion as a write where the service keeps a write counter (list ETags)."""
    sql = (
        "SELECT 1 FROM sqlite_master WHERE name = 'data_revision'"
        if url.startswith("sqlite")
        else "SELECT 1 FROM pg_tables WHERE tablename = 'data_revision'"
    )
    if c.execute(sql).fetchone():
        c.execute("UPDATE data_revision SET value = value + 1")


def main(argv: list[str] | None = None) -> None:
    """Run one floor and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("floor", choices=["minutes", "csv"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--prefix", default="BENCH-FLOOR-")
    args = parser.parse_args(argv)
    if args.floor == "minutes":
        result = minutes_rate(args.url, args.workers, args.seconds, args.prefix)
    else:
        result = csv_rate(args.url)
    sys.stdout.write(json.dumps(result) + "\n")


class _Sink:
    """A binary stream that counts bytes and notes when the first one arrived."""

    def __init__(self) -> None:
        self.bytes = 0
        self.first: float | None = None

    def write(self, data: bytes) -> int:
        if self.first is None and data:
            self.first = time.perf_counter()
        self.bytes += len(data)
        return len(data)


def csv_rate(url: str) -> dict[str, Any]:
    """Write the whole export to a counting sink; return rows/s and the time to first byte."""
    sink = _Sink()
    cpu = time.process_time()
    start = time.perf_counter()
    rows = write_csv(url, sink)
    elapsed = time.perf_counter() - start
    return {
        "rows": rows,
        "bytes": sink.bytes,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "first_byte_s": (sink.first or start) - start,
        "floor_cpu_pct": 100.0 * (time.process_time() - cpu) / elapsed,
    }


if __name__ == "__main__":
    main()
