"""A plan's progress as of a date: per activity, rolled up per objective, pillar, institution.

The report is a pure function of the plan and of the follow-ups reported on or before `as_of`,
so last year's figures can be reproduced today. The rules are in `RULES` (they are also the
OpenAPI description of the endpoint, so report readers can recompute any figure by hand).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.action_plans import service as plans
from app.action_plans import tree
from app.models import ActionPlan, Activity, ActivityStatus, FollowUp, Objective, Pillar
from app.regions import service as regions
from app.text import fold

RULES = """
Every figure is computed from the plan and from the follow-ups **reported on or before
`as_of`** (default: today in Albania); later reports are ignored, so a past report can be
reproduced at any time. The plan itself (activities, targets, deadlines, responsible
institutions) is taken as it stands now: a later PATCH of a target or a deadline changes past
reports too.

**Per activity**

- `status`: the status carried by the activity's latest follow-up that carries one (latest
  `reported_on`, ties broken by the later follow-up id), among those reported on or before
  `as_of`; `not_started` when there is none. (Statuses change only through follow-ups.)
- `progress_value`: the `progress_value` of the latest follow-up (same order) that has one;
  null when there is none. It is cumulative, not a sum of reports.
- `last_follow_up_on`: the latest `reported_on` of any of its follow-ups up to `as_of`.
- `percent`: 100 when `status` is `completed`; otherwise `progress_value ÷ target × 100`, capped
  at 100, when both exist and `target` > 0; otherwise 0. Rounded half up to 2 decimals.
  (Example: value 300, target 400 → 75.0.)
- `delayed`: the activity has a `deadline`, the deadline is **before** `as_of`, and its status is
  neither `completed` nor `cancelled` (a cancelled activity is no longer due).
- `recommendations`: those linked to the activity, with their current status; `overdue` when
  their `due_on` is before `as_of` and their status is `open` or `in_progress`.

**Roll-ups** (`overall`, `by_pillar` — always the four pillars —, `by_objective`,
`by_institution`) count the activities of the group (`activities`, cancelled ones included),
the activities in each status (all four keys always present), the `delayed` ones, and
`percent`: the mean of the rounded `percent` of the group's activities that are **not
cancelled**, rounded half up to 2 decimals (0 when there are none). An institution's group is
every activity it is responsible for, lead or not; `lead_activities` counts those it leads.

`overall.elapsed_percent` = (`as_of` − `period_start`) ÷ (`period_end` − `period_start` + 1 day)
× 100, counted in days, capped to 0–100, rounded half up to 2 decimals. (Plan 2018-01-01 to
2019-12-31, as of 2019-01-01: 365 ÷ 730 × 100 = 50.0.)

`format=csv` gives one row per activity with the same figures; `format=xlsx` adds a summary
sheet with the roll-ups. `lang=sq` gives Albanian column headers and vocabulary labels.
"""

STATUSES = [s.value for s in ActivityStatus]
_CENT = Decimal("0.01")


def round2(value: float) -> float:
    """Round half up to 2 decimals, on the decimal digits a reader sees."""
    return float(Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_UP))


def activity_percent(status: str, progress_value: float | None, target: float | None) -> float:
    """Return an activity's percent by the contract's rule, rounded to 2 decimals."""
    if status == ActivityStatus.completed:
        return 100.0
    if progress_value is not None and target is not None and target > 0:
        return round2(min(100.0, progress_value / target * 100))
    return 0.0


def is_delayed(deadline: date | None, status: str, as_of: date) -> bool:
    """Tell whether an activity's deadline passed before `as_of` without it being done."""
    done = status in (ActivityStatus.completed, ActivityStatus.cancelled)
    return deadline is not None and deadline < as_of and not done


def elapsed_percent(period_start: date, period_end: date, as_of: date) -> float:
    """Return the share of the plan period elapsed on `as_of`, in days, capped to 0–100."""
    length = (period_end - period_start).days + 1
    share = (as_of - period_start).days / length * 100
    return round2(max(0.0, min(100.0, share)))


@dataclass
class Tally:
    """Accumulates the counts and percents of a group of activities."""

    activities: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    delayed: int = 0
    percents: list[float] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.activities += 1
        self.statuses[row["status"]] += 1
        self.delayed += bool(row["delayed"])
        if row["status"] != ActivityStatus.cancelled:
            self.percents.append(row["percent"])

    def as_dict(self) -> dict[str, Any]:
        mean = round2(sum(self.percents) / len(self.percents)) if self.percents else 0.0
        return {
            "activities": self.activities,
            **self.statuses,
            "delayed": self.delayed,
            "percent": mean,
        }


def _latest(column: Any, plan_id: int, as_of: date) -> Any:
    """Each activity's latest non-null `column` among follow-ups up to `as_of` (window query)."""
    ranked = (
        select(
            col(FollowUp.activity_id).label("activity_id"),
            column.label("value"),
            func.row_number()
            .over(
                partition_by=col(FollowUp.activity_id),
                order_by=(col(FollowUp.reported_on).desc(), col(FollowUp.id).desc()),
            )
            .label("rank"),
        )
        .join(Activity, col(Activity.id) == FollowUp.activity_id)
        .where(Activity.action_plan_id == plan_id, FollowUp.reported_on <= as_of)
        .where(column.is_not(None))
        .subquery()
    )
    return select(ranked.c.activity_id, ranked.c.value).where(ranked.c.rank == 1).subquery()


def _activity_rows(session: Session, plan_id: int, as_of: date) -> list[Any]:
    """Return the plan's activities with their objective and latest figures, in one query."""
    status = _latest(col(FollowUp.new_status), plan_id, as_of)
    value = _latest(col(FollowUp.progress_value), plan_id, as_of)
    last = (
        select(
            col(FollowUp.activity_id).label("activity_id"),
            func.max(FollowUp.reported_on).label("last_on"),
        )
        .join(Activity, col(Activity.id) == FollowUp.activity_id)
        .where(Activity.action_plan_id == plan_id, FollowUp.reported_on <= as_of)
        .group_by(col(FollowUp.activity_id))
        .subquery()
    )
    stmt = (
        sa_select(
            Activity,
            col(Objective.code),
            col(Objective.pillar),
            status.c.value,
            value.c.value,
            last.c.last_on,
        )
        .join(Objective, col(Objective.id) == Activity.objective_id)
        .outerjoin(status, status.c.activity_id == Activity.id)
        .outerjoin(value, value.c.activity_id == Activity.id)
        .outerjoin(last, last.c.activity_id == Activity.id)
        .where(col(Activity.action_plan_id) == plan_id)
        .order_by(
            col(Objective.position), col(Objective.id), col(Activity.position), col(Activity.id)
        )
    )
    return list(session.execute(stmt).all())


def _as_date(value: Any) -> date | None:
    # SQLite hands aggregates of dates back as text when the type is not carried through.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def report(session: Session, plan: ActionPlan, as_of: date) -> dict[str, Any]:
    """Return the progress report of a plan as of a date, in a fixed number of queries."""
    plan_id = plan.id or 0
    objectives = session.exec(
        select(Objective)
        .where(Objective.action_plan_id == plan_id)
        .order_by(col(Objective.position), col(Objective.id))
    ).all()
    responsible = tree.responsible_rows(session, plan_id)
    recommendations = tree.linked_recommendations(session, plan_id, as_of)

    activities: list[dict[str, Any]] = []
    for activity, objective_code, pillar, status, value, last_on in _activity_rows(
        session, plan_id, as_of
    ):
        status = status or ActivityStatus.not_started
        progress_value = plans.number(value)
        target = plans.number(activity.target)
        activities.append(
            {
                "id": activity.id,
                "code": activity.code,
                "objective": objective_code,
                "pillar": pillar,
                "title": activity.title,
                "status": status,
                "delayed": is_delayed(activity.deadline, status, as_of),
                "deadline": activity.deadline,
                "target": target,
                "unit": activity.unit,
                "progress_value": progress_value,
                "percent": activity_percent(status, progress_value, target),
                "last_follow_up_on": _as_date(last_on),
                "responsible": [
                    {
                        "institution": {"id": r.institution.id, "name": r.institution.name},
                        "lead": r.lead,
                    }
                    for r in responsible.get(activity.id or 0, [])
                ],
                "recommendations": [
                    r.model_dump(mode="json") for r in recommendations.get(activity.id or 0, [])
                ],
                "_objective_id": activity.objective_id,
            }
        )
    payload = {
        "plan": {
            "id": plan.id,
            "region": regions.region_code(plan.region_id),
            "title": plan.title,
            "period_start": plan.period_start,
            "period_end": plan.period_end,
        },
        "as_of": as_of,
        **_roll_ups(plan, objectives, activities, as_of),
        "activities": activities,
    }
    for row in activities:
        del row["_objective_id"]
    return payload


def _roll_ups(
    plan: ActionPlan, objectives: Sequence[Objective], activities: list[dict[str, Any]], as_of: date
) -> dict[str, Any]:
    overall = Tally()
    pillars = {p.value: Tally() for p in Pillar}
    by_objective = {o.id: Tally() for o in objectives}
    institutions: dict[int, tuple[dict[str, Any], Tally, list[int]]] = {}
    for row in activities:
        overall.add(row)
        pillars[row["pillar"]].add(row)
        by_objective[row["_objective_id"]].add(row)
        for responsible in row["responsible"]:
            ref = responsible["institution"]
            entry = institutions.setdefault(ref["id"], (ref, Tally(), [0]))
            entry[1].add(row)
            entry[2][0] += bool(responsible["lead"])
    ordered = sorted(institutions.values(), key=lambda e: (fold(e[0]["name"]), e[0]["id"]))
    return {
        "overall": {
            **overall.as_dict(),
            "elapsed_percent": elapsed_percent(plan.period_start, plan.period_end, as_of),
        },
        "by_pillar": [{"pillar": p, **t.as_dict()} for p, t in pillars.items()],
        "by_objective": [
            {
                "id": o.id,
                "code": o.code,
                "title": o.title,
                "pillar": o.pillar,
                **by_objective[o.id].as_dict(),
            }
            for o in objectives
        ],
        "by_institution": [
            {"institution": ref, "lead_activities": leads[0], **tally.as_dict()}
            for ref, tally, leads in ordered
        ],
    }
