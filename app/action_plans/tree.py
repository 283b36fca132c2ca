"""The plan tree as the API shows it: plans, objectives, activities and what links to them."""

from collections import defaultdict
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.action_plans.schemas import (
    ActivityRead,
    BudgetRead,
    LinkedRecommendation,
    ObjectiveRead,
    PlanRead,
    PlanSummary,
    ResponsibleRead,
)
from app.action_plans.service import number
from app.clock import today
from app.institutions.schemas import InstitutionSummary
from app.models import (
    ACTIVE_RECOMMENDATION_STATUSES,
    ActionPlan,
    Activity,
    ActivityResponsible,
    ActivityStatus,
    Currency,
    Institution,
    Objective,
    Pillar,
    PlanStatus,
    Recommendation,
    RecommendationStatus,
)
from app.regions import service as regions


def list_query(*, region: str | None, active_on: date | None, status: PlanStatus | None) -> Any:
    """Return the filtered select of plans."""
    stmt = select(ActionPlan)
    if region:
        stmt = stmt.where(ActionPlan.region_id == regions.region_id(region))
    if active_on:
        stmt = stmt.where(
            col(ActionPlan.period_start) <= active_on, col(ActionPlan.period_end) >= active_on
        )
    if status:
        stmt = stmt.where(ActionPlan.status == status)
    return stmt


def to_summary(plan: ActionPlan) -> PlanSummary:
    """Return the list form of a plan."""
    return PlanSummary(
        id=plan.id or 0,
        region=regions.region_code(plan.region_id) or "",
        title=plan.title,
        period_start=plan.period_start,
        period_end=plan.period_end,
        national_reference=plan.national_reference,
        status=PlanStatus(plan.status),
        version=plan.version,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def responsible_rows(session: Session, plan_id: int) -> dict[int, list[ResponsibleRead]]:
    """Return each activity's responsible institutions, in list order (one query)."""
    rows = session.exec(
        select(ActivityResponsible, Institution)
        .join(Institution, col(Institution.id) == ActivityResponsible.institution_id)
        .join(Activity, col(Activity.id) == ActivityResponsible.activity_id)
        .where(Activity.action_plan_id == plan_id)
        .order_by(col(ActivityResponsible.activity_id), col(ActivityResponsible.position))
    ).all()
    result: dict[int, list[ResponsibleRead]] = defaultdict(list)
    for link, institution in rows:
        summary = InstitutionSummary(
            id=institution.id or 0, name=institution.name, abbreviation=institution.abbreviation
        )
        result[link.activity_id].append(ResponsibleRead(institution=summary, lead=link.lead))
    return result


def linked_recommendations(
    session: Session, plan_id: int, as_of: date
) -> dict[int, list[LinkedRecommendation]]:
    """Return the recommendations linked to each activity, `overdue` judged on `as_of`."""
    rows = session.exec(
        select(
            col(Recommendation.id),
            col(Recommendation.activity_id),
            col(Recommendation.status),
            col(Recommendation.due_on),
        )
        .join(Activity, col(Activity.id) == Recommendation.activity_id)
        .where(Activity.action_plan_id == plan_id)
        .order_by(col(Recommendation.id))
    ).all()
    result: dict[int, list[LinkedRecommendation]] = defaultdict(list)
    for rec_id, activity_id, status, due_on in rows:
        overdue = due_on is not None and due_on < as_of and status in ACTIVE_RECOMMENDATION_STATUSES
        result[activity_id or 0].append(
            LinkedRecommendation(id=rec_id, status=RecommendationStatus(status), overdue=overdue)
        )
    return result


def to_read(session: Session, plan: ActionPlan) -> PlanRead:
    """Return the whole tree of a plan, in four queries whatever its size."""
    objectives = session.exec(
        select(Objective)
        .where(Objective.action_plan_id == plan.id)
        .order_by(col(Objective.position), col(Objective.id))
    ).all()
    activities = session.exec(
        select(Activity)
        .where(Activity.action_plan_id == plan.id)
        .order_by(col(Activity.position), col(Activity.id))
    ).all()
    responsible = responsible_rows(session, plan.id or 0)
    recommendations = linked_recommendations(session, plan.id or 0, today())
    by_objective: dict[int, list[ActivityRead]] = defaultdict(list)
    for activity in activities:
        by_objective[activity.objective_id].append(
            ActivityRead(
                id=activity.id or 0,
                code=activity.code,
                title=activity.title,
                responsible=responsible.get(activity.id or 0, []),
                indicator=activity.indicator,
                target=number(activity.target),
                unit=activity.unit,
                deadline=activity.deadline,
                budget=BudgetRead(
                    amount=number(activity.budget_amount) or 0,
                    currency=Currency(activity.budget_currency),
                )
                if activity.budget_amount is not None and activity.budget_currency
                else None,
                funding_source=activity.funding_source,
                status=ActivityStatus(activity.status),
                version=activity.version,
                recommendations=recommendations.get(activity.id or 0, []),
            )
        )
    summary = to_summary(plan)
    return PlanRead(
        **summary.model_dump(),
        objectives=[
            ObjectiveRead(
                id=objective.id or 0,
                code=objective.code,
                pillar=Pillar(objective.pillar),
                title=objective.title,
                activities=by_objective.get(objective.id or 0, []),
            )
            for objective in objectives
        ],
    )
