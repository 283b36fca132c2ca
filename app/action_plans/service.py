"""Action plans: creating one from its document, and changing it (the tree is read in tree.py)."""

import calendar
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, delete, select

from app import audit
from app.action_plans.schemas import (
    ActivityEdit,
    Budget,
    PlanCreate,
    PlanUpdate,
    ResponsibleIn,
)
from app.auth import Actor, require_region_write
from app.config import get_settings
from app.errors import Conflict, NotFound, ProblemCollector, pointer
from app.institutions import service as institutions
from app.models import (
    ActionPlan,
    Activity,
    ActivityResponsible,
    Institution,
    Objective,
    Region,
    utcnow,
)
from app.regions import service as regions
from app.text import fold


def add_months(day: date, months: int) -> date:
    """Return `day` moved by `months` calendar months (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expected_period_end(period_start: date) -> date:
    """Return the last day of a plan starting on `period_start` (KRAT_PLAN_PERIOD_MONTHS)."""
    return add_months(period_start, get_settings().plan_period_months) - timedelta(days=1)


def number(value: Any) -> int | float | None:
    """Return a stored number as JSON shows it: whole numbers without a fraction."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def get(session: Session, plan_id: int, *, for_update: bool = False) -> ActionPlan:
    """Return a plan by id (locked for the transaction if `for_update`), or raise NotFound."""
    plan = session.get(ActionPlan, plan_id, with_for_update=for_update)
    if plan is None:
        raise NotFound(f"there is no action plan {plan_id}")
    return plan


# --- validation shared by create and update ----------------------------------------------------


def _check_deadline(
    problems: ProblemCollector, deadline: date | None, start: date, end: date, where: str
) -> None:
    if deadline is not None and not start <= deadline <= end:
        problems.add(
            where,
            f"the deadline must lie inside the plan period {start.isoformat()}–{end.isoformat()}",
        )


def _resolve_responsible(
    resolver: institutions.Resolver,
    problems: ProblemCollector,
    items: list[ResponsibleIn],
    base: tuple[str | int, ...],
) -> list[tuple[Institution, bool]]:
    """Resolve an activity's responsible list: no duplicates, at most one lead."""
    resolved: list[tuple[Institution, bool]] = []
    seen: dict[int, int] = {}
    lead_at: int | None = None
    for index, item in enumerate(items):
        if item.lead:
            if lead_at is not None:
                problems.add(
                    pointer(*base, index, "lead"),
                    f"an activity has at most one lead; {pointer(*base, lead_at)} already leads",
                )
            else:
                lead_at = index
        where = pointer(*base, index, "institution")
        institution = resolver.resolve(item.institution, where)
        if institution is None:
            continue
        if institution.id in seen:
            problems.add(
                where,
                f"the same institution is already listed at {pointer(*base, seen[institution.id])}",
            )
            continue
        seen[institution.id or 0] = index
        resolved.append((institution, item.lead))
    return resolved


def _first_use(seen: dict[str, str], code: str, where: str) -> str | None:
    key = fold(code)
    if key in seen:
        return seen[key]
    seen[key] = where
    return None


# --- create ------------------------------------------------------------------------------------


def _check_overlap(session: Session, region_id: int, start: date, end: date) -> None:
    other = session.exec(
        select(ActionPlan)
        .where(
            ActionPlan.region_id == region_id,
            col(ActionPlan.period_start) <= end,
            col(ActionPlan.period_end) >= start,
        )
        .order_by(col(ActionPlan.period_start))
    ).first()
    if other is not None:
        raise Conflict(
            f"{regions.region_code(region_id)} already has action plan {other.id} for "
            f"{other.period_start.isoformat()}–{other.period_end.isoformat()}, which overlaps "
            "this period; change that plan or choose another period",
            existing_id=other.id,
        )


def create(session: Session, data: PlanCreate, *, actor: Actor) -> ActionPlan:
    """Store a plan document, all of it or nothing; its region may not have an overlapping plan."""
    region_id = regions.region_id(data.region)
    require_region_write(actor, region_id)
    problems = ProblemCollector()
    expected_end = expected_period_end(data.period_start)
    if data.period_end != expected_end:
        months = get_settings().plan_period_months
        problems.add(
            "/period_end",
            f"a plan spans {months} months: a plan starting on "
            f"{data.period_start.isoformat()} must end on {expected_end.isoformat()}",
        )
    resolver = institutions.Resolver.for_region(session, region_id, problems)
    objective_codes: dict[str, str] = {}
    activity_codes: dict[str, str] = {}
    responsible: dict[tuple[int, int], list[tuple[Institution, bool]]] = {}
    for o, objective_doc in enumerate(data.objectives):
        where = pointer("objectives", o, "code")
        if (first := _first_use(objective_codes, objective_doc.code, where)) is not None:
            problems.add(where, f"objective code {objective_doc.code} is already used at {first}")
        for a, activity_doc in enumerate(objective_doc.activities):
            where = pointer("objectives", o, "activities", a, "code")
            if (first := _first_use(activity_codes, activity_doc.code, where)) is not None:
                problems.add(where, f"activity code {activity_doc.code} is already used at {first}")
            _check_deadline(
                problems,
                activity_doc.deadline,
                data.period_start,
                data.period_end,
                pointer("objectives", o, "activities", a, "deadline"),
            )
            responsible[o, a] = _resolve_responsible(
                resolver,
                problems,
                activity_doc.responsible,
                ("objectives", o, "activities", a, "responsible"),
            )
    problems.raise_if_any(title="Invalid action plan")

    # Locking the region row serialises plan creation per region on PostgreSQL, so two
    # concurrent overlapping plans cannot both pass the check (SQLite writers are serial).
    session.get(Region, region_id, with_for_update=True)
    _check_overlap(session, region_id, data.period_start, data.period_end)

    plan = ActionPlan(
        region_id=region_id,
        title=data.title,
        period_start=data.period_start,
        period_end=data.period_end,
        national_reference=data.national_reference,
        status=data.status,
    )
    session.add(plan)
    session.flush()
    stored: dict[str, Any] = {"plan": None, "objectives": [], "activities": []}
    for o, objective_in in enumerate(data.objectives):
        objective = Objective(
            action_plan_id=plan.id or 0,
            code=objective_in.code,
            pillar=objective_in.pillar,
            title=objective_in.title,
            position=o,
        )
        session.add(objective)
        session.flush()
        stored["objectives"].append(audit.snapshot(objective))
        for a, activity_in in enumerate(objective_in.activities):
            activity = Activity(
                action_plan_id=plan.id or 0,
                objective_id=objective.id or 0,
                code=activity_in.code,
                title=activity_in.title,
                indicator=activity_in.indicator,
                target=activity_in.target,
                unit=activity_in.unit,
                deadline=activity_in.deadline,
                funding_source=activity_in.funding_source,
                position=a,
            )
            _set_budget(activity, activity_in.budget)
            session.add(activity)
            session.flush()
            _store_responsible(session, activity, responsible[o, a])
            stored["activities"].append(_activity_snapshot(activity, responsible[o, a]))
    session.flush()
    stored["plan"] = audit.snapshot(plan)
    audit.record(
        session, actor=actor, action="create", entity="action_plan", entity_id=plan.id, after=stored
    )
    return plan


def _set_budget(activity: Activity, budget: Budget | None) -> None:
    activity.budget_amount = budget.amount if budget else None
    activity.budget_currency = budget.currency if budget else None


def _store_responsible(
    session: Session, activity: Activity, responsible: list[tuple[Institution, bool]]
) -> None:
    for position, (institution, lead) in enumerate(responsible):
        session.add(
            ActivityResponsible(
                activity_id=activity.id or 0,
                institution_id=institution.id or 0,
                lead=lead,
                position=position,
            )
        )


def _activity_snapshot(
    activity: Activity, responsible: list[tuple[Institution, bool]] | None
) -> dict[str, Any]:
    data = audit.snapshot(activity)
    if responsible is not None:
        data["responsible"] = [{"institution_id": i.id, "lead": lead} for i, lead in responsible]
    return data


# --- update ------------------------------------------------------------------------------------


def update(session: Session, plan: ActionPlan, data: PlanUpdate, *, actor: Actor) -> ActionPlan:
    """Change a plan's title, status or reference, and edit its activities in place."""
    require_region_write(actor, plan.region_id)
    changes = data.model_dump(exclude_unset=True, exclude={"activities"})
    problems = ProblemCollector()
    for key in ("title", "status"):
        if key in changes and changes[key] is None:
            problems.add(pointer(key), "must not be null")
    edits = data.activities or []
    by_id: dict[int, Activity] = {}
    if edits:
        ids = [edit.id for edit in edits]
        rows = session.exec(
            select(Activity)
            .where(col(Activity.id).in_(ids), Activity.action_plan_id == plan.id)
            .order_by(col(Activity.id))
            .with_for_update()
        ).all()
        by_id = {row.id or 0: row for row in rows}
    resolver = institutions.Resolver.for_region(session, plan.region_id, problems)
    seen: dict[int, int] = {}
    responsible: dict[int, list[tuple[Institution, bool]]] = {}
    for index, edit in enumerate(edits):
        if edit.id in seen:
            problems.add(
                pointer("activities", index, "id"),
                f"activity {edit.id} is already edited at /activities/{seen[edit.id]}",
            )
            continue
        seen[edit.id] = index
        if edit.id not in by_id:
            problems.add(
                pointer("activities", index, "id"), f"plan {plan.id} has no activity {edit.id}"
            )
            continue
        if "title" in edit.model_fields_set and edit.title is None:
            problems.add(pointer("activities", index, "title"), "must not be null")
        _check_deadline(
            problems,
            edit.deadline,
            plan.period_start,
            plan.period_end,
            pointer("activities", index, "deadline"),
        )
        if "responsible" in edit.model_fields_set:
            if edit.responsible is None:
                problems.add(pointer("activities", index, "responsible"), "must not be null")
            else:
                responsible[edit.id] = _resolve_responsible(
                    resolver, problems, edit.responsible, ("activities", index, "responsible")
                )
    problems.raise_if_any(title="Invalid action plan change")

    before: dict[str, Any] = {"plan": audit.snapshot(plan), "activities": []}
    after: dict[str, Any] = {"activities": []}
    now = utcnow()
    for edit in edits:
        activity = by_id[edit.id]
        before["activities"].append(audit.snapshot(activity))
        _apply_edit(session, activity, edit, responsible.get(edit.id))
        activity.version += 1
        activity.updated_at = now
        session.add(activity)
        after["activities"].append(_activity_snapshot(activity, responsible.get(edit.id)))
    plan.sqlmodel_update(changes)
    plan.version += 1
    plan.updated_at = now
    session.add(plan)
    session.flush()
    after["plan"] = audit.snapshot(plan)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="action_plan",
        entity_id=plan.id,
        before=before,
        after=after,
    )
    return plan


def _apply_edit(
    session: Session,
    activity: Activity,
    edit: ActivityEdit,
    responsible: list[tuple[Institution, bool]] | None,
) -> None:
    fields = edit.model_fields_set - {"id", "budget", "responsible"}
    for name in fields:
        setattr(activity, name, getattr(edit, name))
    if "budget" in edit.model_fields_set:
        _set_budget(activity, edit.budget)
    if responsible is not None:
        session.execute(
            delete(ActivityResponsible).where(col(ActivityResponsible.activity_id) == activity.id)
        )
        session.flush()
        _store_responsible(session, activity, responsible)
