"""Synthetic demo data at any scale, for benchmarks: `krat demo --synthetic N`.

Deterministic: the same N and seed on a database holding the same reference data give the same
rows (ids included), on SQLite and PostgreSQL, whatever day it runs; only whether a due date has
passed depends on today. Meetings are spread over 2016-01-01 .. 2026-10-31 with a burst every
October (awareness month), across the 12 regions and both bodies; each has 10–20 recommendations
(1–3 responsible institutions of its region, one lead) with a status history, 0–5 problems and
5–20 attending institutions. Each region also gets a two-year plan (`synthetic_plans`).

Rows are inserted in batches (SQLAlchemy Core executemany; COPY on PostgreSQL) with primary
keys assigned here, after each table's current maximum, so that children reference parents
without round trips; meeting by meeting, so that memory stays flat at any N. No audit event is
written per row: synthetic data is not a user's write. One audit event records the generation.
"""

import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, TextIO

from sqlalchemy import JSON, Connection, Engine, func, select, text
from sqlmodel import Session, SQLModel

from app.db import WRITE_OPTION
from app.demo import synthetic_meetings, synthetic_plans
from app.demo import synthetic_text as words
from app.demo.synthetic_meetings import ACTOR, ORDER, Builder, Place
from app.demo.synthetic_plans import Ids, Rows
from app.errors import Conflict

START = date(2016, 1, 1)
END = synthetic_meetings.END
# Recommendations per batch: with their children about 60,000 rows, inserted 5–20k per call.
BATCH = 10_000
T = SQLModel.metadata.tables
MONTH_WEIGHTS = (8, 9, 10, 10, 10, 9, 6, 4, 10, 30, 11, 7)

Progress = Callable[[int, int, int], None]


def generate(
    target: Session | Engine,
    *,
    recommendations: int,
    seed: int = 1,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Add `recommendations` synthetic recommendations with their meetings; return row counts.

    With a Session, rows go into its transaction and the caller commits; with an Engine, all of
    it is one transaction committed here. Needs the reference bodies and institutions.
    """
    if isinstance(target, Session):
        target.flush()
        return _generate(target.connection(), recommendations, seed, progress)
    with target.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        counts = _generate(connection, recommendations, seed, progress)
    if target.dialect.name == "sqlite":
        # The whole run went through the WAL; fold it into the database file and truncate it.
        with target.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def _generate(
    connection: Connection, total: int, seed: int, progress: Progress | None
) -> dict[str, int]:
    rng = random.Random(seed)
    places = _places(connection)
    ids = Ids({name: _max_id(connection, name) for name in synthetic_plans.ID_TABLES})
    counts: dict[str, int] = {}
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A big page cache keeps the recommendation indexes in memory while they grow.
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA cache_size=-262144")
    for place in places:
        if not _has_overlapping_plan(connection, place.region_id):
            rows = synthetic_plans.plan(rng, ids, place.region_id, place.name, place.regional)
            _insert(connection, rows, counts)
            place.activities = [row["id"] for row in rows["activity"]]
            place.plan_start = rows["action_plan"][0]["period_start"]
    sizes = _meeting_sizes(rng, total)
    days = _meeting_days(rng, len(sizes))
    builder = Builder(rng, ids, places)
    done = 0
    for held_on, size in zip(days, sizes, strict=True):
        builder.meeting(held_on, size)
        done += size
        if builder.pending >= BATCH:
            _insert(connection, builder.take(), counts)
            if progress:
                progress(done, total, sum(counts.values()))
    _insert(connection, builder.take(), counts)
    if progress:
        progress(done, total, sum(counts.values()))
    _finish(connection, sqlite, seed, total, counts)
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size or -2000)}")
    return counts


def _finish(
    connection: Connection, sqlite: bool, seed: int, total: int, counts: dict[str, int]
) -> None:
    if not sqlite:
        # Rows came with explicit ids: move each sequence past them, or the next API insert
        # would collide with a synthetic row.
        for name in synthetic_plans.ID_TABLES:
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}")
            )
    connection.execute(
        T["audit_event"].insert(),
        {
            "at": datetime.now(UTC),
            "actor": ACTOR,
            "action": "generate",
            "entity": "synthetic",
            "entity_id": None,
            "before": None,
            "after": {"seed": seed, "recommendations": total, "rows": counts},
            "request_id": None,
        },
    )
    # Lists cache their ETags and totals by this counter: the new rows must change it.
    connection.execute(T["data_revision"].update().values(value=T["data_revision"].c.value + 1))
    # The planner needs statistics that describe the new rows, not the empty tables.
    connection.exec_driver_sql("ANALYZE")


def _insert(connection: Connection, rows: Rows, counts: dict[str, int]) -> None:
    for name in (*synthetic_plans.PLAN_ORDER, *ORDER):
        batch = rows.get(name)
        if not batch:
            continue
        if connection.dialect.name == "postgresql":
            _copy(connection, name, batch)
        else:
            connection.execute(T[name].insert(), batch)
        counts[name] = counts.get(name, 0) + len(batch)


def _copy(connection: Connection, name: str, batch: list[dict[str, Any]]) -> None:
    """Insert rows with COPY, on the connection's own transaction.

    psycopg's pipelined executemany spends most of its time in Python per row; COPY streams
    the same rows about five times faster, which is what keeps 1,000,000 within minutes.
    """
    columns = list(batch[0])
    encoded = {c for c in columns if isinstance(T[name].c[c].type, JSON)}
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(
                [json.dumps(row[c]) if c in encoded else row[c] for c in columns]
                if encoded
                else list(row.values())
            )


def _max_id(connection: Connection, name: str) -> int:
    return connection.execute(select(func.max(T[name].c.id))).scalar() or 0


def _has_overlapping_plan(connection: Connection, region_id: int) -> bool:
    plan = T["action_plan"]
    start, end = synthetic_plans.period(region_id)
    found = connection.execute(
        select(plan.c.id).where(
            plan.c.region_id == region_id,
            plan.c.period_start <= end,
            plan.c.period_end >= start,
        )
    ).first()
    return found is not None


def _places(connection: Connection) -> list[Place]:
    """Read the regions' bodies and institutions (in id order, so ids are deterministic)."""
    bodies: dict[int, dict[str, tuple[int, str]]] = {}
    for row in connection.execute(
        select(T["body"].c.id, T["body"].c.region_id, T["body"].c.kind, T["body"].c.name).order_by(
            T["body"].c.id
        )
    ):
        bodies.setdefault(row.region_id, {}).setdefault(row.kind, (row.id, row.name))
    inst = T["institution"]
    rows = connection.execute(
        select(inst.c.id, inst.c.region_id, inst.c.kind)
        .where(inst.c.active.is_(True))
        .order_by(inst.c.id)
    ).all()
    national = [row.id for row in rows if row.region_id is None]
    places = []
    region = T["region"]
    for region_id, name in connection.execute(
        select(region.c.id, region.c.name).order_by(region.c.id)
    ):
        own = [row for row in rows if row.region_id == region_id]
        found = bodies.get(region_id, {})
        if len(found) < 2 or not own:
            raise Conflict(
                "synthetic data needs every region's committee, technical table and "
                "institutions: load the reference data first (krat demo)"
            )
        place = Place(
            region_id=region_id,
            name=name,
            bodies=found,
            regional=[row.id for row in own],
            guests=[row.id for row in own] + national,
            chair_id=next((row.id for row in own if row.kind == "prefecture"), None),
        )
        place.leads = [
            [row.id for row in own if row.kind in kinds] or place.regional
            for _, _, kinds in words.GROUPS
        ]
        places.append(place)
    return places


def _meeting_sizes(rng: random.Random, total: int) -> list[int]:
    """Split `total` into meetings of 10–20 recommendations (fewer only when total < 10)."""
    sizes = []
    remaining = total
    while remaining > 0:
        size = rng.randint(10, 20)
        if remaining - size < 10:
            size = remaining if remaining <= 20 else remaining - 10
        sizes.append(size)
        remaining -= size
    return sizes


def _meeting_days(rng: random.Random, count: int) -> list[date]:
    """Draw `count` meeting days, sorted: weekdays, more in October, a few on weekends."""
    days = [START + timedelta(n) for n in range((END - START).days + 1)]
    weights = [MONTH_WEIGHTS[d.month - 1] * (1 if d.weekday() < 5 else 0.05) for d in days]
    return sorted(rng.choices(days, cum_weights=list(accumulate(weights)), k=count))


class Reporter:
    """Print progress lines (recommendations done, rows and rows per second) to a stream."""

    def __init__(self, stream: TextIO | None = None, every: float = 2.0) -> None:
        self.stream = stream
        self.every = every
        self.started = time.perf_counter()
        self.shown = 0.0

    def __call__(self, done: int, total: int, rows: int) -> None:
        """Print a line when `every` seconds have passed since the last, and at the end."""
        now = time.perf_counter()
        if done < total and now - self.shown < self.every:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        # sys.stderr is looked up now, not at import: test runners replace it.
        stream = self.stream or sys.stderr
        stream.write(
            f"synthetic: {done:,}/{total:,} recommendations, {rows:,} rows, "
            f"{rows / elapsed:,.0f} rows/s, {elapsed:,.1f} s\n"
        )
        stream.flush()
