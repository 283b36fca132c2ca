"""Synthetic two-year action plans (one per region), and the row helpers the generator shares.

A plan has 3–4 objectives under distinct pillars and 6–12 activities, each with 1–3 responsible
institutions of the region (one lead) and 0–4 follow-ups whose cumulative progress values climb
towards the target. An activity's stored status is that of its latest follow-up carrying one,
as the follow-up service keeps it.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from app.demo import synthetic_text as words
from app.models import Pillar

# Nothing synthetic happens after this moment (a fixed date, so the data never depends on today).
LAST = datetime(2026, 11, 20, 17, tzinfo=UTC)
ACTOR = "demo-synthetic"
# Tables whose ids the generator assigns (and whose sequences it moves on PostgreSQL).
ID_TABLES = (
    "action_plan",
    "objective",
    "activity",
    "meeting",
    "attendance",
    "problem",
    "recommendation",
    "recommendation_status_change",
    "follow_up",
)
PLAN_ORDER = ("action_plan", "objective", "activity", "activity_responsible")
PILLARS = tuple(Pillar)
PERIOD_STARTS = (date(2024, 7, 1), date(2025, 1, 1), date(2025, 7, 1))

Rows = dict[str, list[dict[str, Any]]]


class Ids:
    """Hand out primary keys after each table's current maximum."""

    def __init__(self, start: dict[str, int]) -> None:
        self.last = dict(start)

    def next(self, table: str) -> int:
        """Return the next free id of `table`."""
        self.last[table] += 1
        return self.last[table]


def stamp(day: date, rng: random.Random) -> datetime:
    """Return a working-hours moment of `day`, in UTC."""
    return datetime.combine(day, time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=UTC)


def period(region_id: int) -> tuple[date, date]:
    """Return the two-year period of a region's synthetic plan (staggered across regions)."""
    start = PERIOD_STARTS[region_id % len(PERIOD_STARTS)]
    return start, start.replace(year=start.year + 2) - timedelta(1)


def plan(
    rng: random.Random, ids: Ids, region_id: int, region_name: str, regional: list[int]
) -> Rows:
    """Build one region's plan with its objectives, activities and follow-ups."""
    start, end = period(region_id)
    created = stamp(start - timedelta(30), rng)
    plan_id = ids.next("action_plan")
    rows: Rows = {name: [] for name in (*PLAN_ORDER, "follow_up")}
    rows["action_plan"].append(
        {
            "id": plan_id,
            "region_id": region_id,
            "title": f"Plani 2-vjeçar i Veprimit Antitrafik, Qarku {region_name} "
            f"{start.year}–{end.year}",
            "period_start": start,
            "period_end": end,
            "national_reference": "Strategjia Kombëtare dhe Plani i Veprimit kundër Trafikimit",
            "status": "adopted",
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
    )
    pillars = sorted(rng.sample(PILLARS, rng.randint(3, 4)), key=PILLARS.index)
    sizes = [1] * len(pillars)
    for _ in range(rng.randint(6, 12) - len(pillars)):
        sizes[rng.randrange(len(sizes))] += 1
    for number, (pillar, size) in enumerate(zip(pillars, sizes, strict=True), start=1):
        objective_id = ids.next("objective")
        rows["objective"].append(
            {
                "id": objective_id,
                "action_plan_id": plan_id,
                "code": str(number),
                "pillar": pillar,
                "title": rng.choice(words.OBJECTIVES[pillar]),
                "position": number - 1,
            }
        )
        templates = rng.sample(words.ACTIVITIES[pillar], len(words.ACTIVITIES[pillar]))
        for position in range(size):
            spec = templates[position % len(templates)]
            activity = _activity(rng, ids, rows, plan_id, objective_id, spec, position, created)
            activity["code"] = f"{number}.{position + 1}"
            if position >= len(templates):
                activity["title"] += " (faza II)"
            _responsible_and_reports(rng, ids, rows, activity, regional, start, end)
    return rows


def _activity(
    rng: random.Random,
    ids: Ids,
    rows: Rows,
    plan_id: int,
    objective_id: int,
    spec: tuple[str, str, str, int, int],
    position: int,
    created: datetime,
) -> dict[str, Any]:
    title, indicator, unit, low, high = spec
    budgeted = rng.random() < 0.4
    activity = {
        "id": ids.next("activity"),
        "action_plan_id": plan_id,
        "objective_id": objective_id,
        "code": "",
        "title": title,
        "indicator": indicator,
        "target": float(rng.randint(low, high)),
        "unit": unit,
        "deadline": None,
        "budget_amount": Decimal(rng.randint(5, 200) * 10000) if budgeted else None,
        "budget_currency": ("ALL" if rng.random() < 0.8 else "EUR") if budgeted else None,
        "funding_source": rng.choice(words.FUNDING_SOURCES),
        "status": "not_started",
        "position": position,
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    rows["activity"].append(activity)
    return activity


def _responsible_and_reports(
    rng: random.Random,
    ids: Ids,
    rows: Rows,
    activity: dict[str, Any],
    regional: list[int],
    start: date,
    end: date,
) -> None:
    responsible = rng.sample(regional, rng.randint(1, 3))
    for position, institution_id in enumerate(responsible):
        rows["activity_responsible"].append(
            {
                "activity_id": activity["id"],
                "institution_id": institution_id,
                "lead": position == 0,
                "position": position,
            }
        )
    deadline = start + timedelta(rng.randint(120, (end - start).days))
    activity["deadline"] = deadline
    first = start + timedelta(14)
    last = min(LAST.date(), deadline + timedelta(60))
    if last <= first:
        return
    count = rng.randint(0, 4)
    days = sorted(first + timedelta(rng.randint(0, (last - first).days)) for _ in range(count))
    shares = sorted(rng.uniform(0.1, 1.1) for _ in range(count))
    cancelled = rng.random() < 0.06
    target = activity["target"]
    status = "not_started"
    for n, (day, share) in enumerate(zip(days, shares, strict=True)):
        final = n == count - 1
        value = round(target * share) if target > 1 else float(share >= 1.0)
        if final and cancelled:
            new_status: str | None = "cancelled"
        elif value >= target:
            new_status = "completed"
        else:
            new_status = "in_progress" if n == 0 or rng.random() < 0.3 else None
        at = stamp(day, rng)
        rows["follow_up"].append(
            {
                "id": ids.next("follow_up"),
                "activity_id": activity["id"],
                "recommendation_id": None,
                "reported_on": day,
                "institution_id": rng.choice(responsible),
                "description": rng.choice(words.FOLLOW_UP_TEXTS),
                "progress_value": float(value),
                "new_status": new_status,
                "actor": ACTOR,
                "created_at": at,
            }
        )
        if new_status is not None and new_status != status:
            status = new_status
            activity["version"] += 1
            activity["updated_at"] = at
        if new_status in {"completed", "cancelled"}:
            break
    activity["status"] = status
