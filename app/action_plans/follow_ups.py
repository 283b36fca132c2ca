"""Follow-ups on plan activities: progress reports that may move an activity's status.

Storing, authorising and reading follow-ups is shared with recommendations
(`app.follow_ups.service`); what is particular to activities lives here. An activity's status
is never edited directly: it is the status of its latest follow-up that carries one (by
`reported_on`, then id), so the status on any past date can be recomputed from the follow-ups
reported up to that date. `Activity.status` caches the answer for today.
"""

from sqlmodel import Session, col, select

from app import audit
from app.action_plans import service as plans
from app.action_plans.schemas import ActivityFollowUpCreate
from app.auth import Actor
from app.errors import NotFound
from app.follow_ups import service as follow_ups
from app.models import ActionPlan, Activity, ActivityResponsible, ActivityStatus, FollowUp, utcnow


def get_activity(session: Session, activity_id: int, *, for_update: bool = False) -> Activity:
    """Return an activity by id (locked if `for_update`), or raise NotFound."""
    activity = session.get(
        Activity, activity_id, with_for_update=for_update, populate_existing=for_update
    )
    if activity is None:
        raise NotFound(f"there is no activity {activity_id}")
    return activity


def responsible_ids(session: Session, activity_id: int) -> list[int]:
    """Return the ids of the institutions responsible for an activity."""
    return list(
        session.exec(
            select(ActivityResponsible.institution_id).where(
                ActivityResponsible.activity_id == activity_id
            )
        ).all()
    )


def activity_subject(session: Session, plan: ActionPlan, activity: Activity) -> follow_ups.Subject:
    """Return the follow-up subject of an activity: its plan's region, its institutions."""
    return follow_ups.Subject(
        region_id=plan.region_id,
        responsible_ids=frozenset(responsible_ids(session, activity.id or 0)),
        activity_id=activity.id,
        not_before=plan.period_start,
        not_before_why="the day the plan period starts",
    )


def current_status(session: Session, activity_id: int) -> str:
    """Return the status of an activity's latest follow-up that set one, else not_started."""
    latest = session.exec(
        select(FollowUp.new_status)
        .where(FollowUp.activity_id == activity_id, col(FollowUp.new_status).is_not(None))
        .order_by(col(FollowUp.reported_on).desc(), col(FollowUp.id).desc())
        .limit(1)
    ).first()
    return latest or ActivityStatus.not_started


def create(
    session: Session, activity_id: int, data: ActivityFollowUpCreate, *, actor: Actor
) -> FollowUp:
    """Record a follow-up on an activity; a status in it may move the activity's status."""
    activity = get_activity(session, activity_id)
    # Plan first, then activity: the same lock order as a plan PATCH, so the two never deadlock.
    plan = plans.get(session, activity.action_plan_id, for_update=True)
    activity = get_activity(session, activity_id, for_update=True)
    follow_up = follow_ups.create(
        session,
        activity_subject(session, plan, activity),
        data,
        actor=actor,
        # Kept even when it repeats the current status: it is what was reported on that day.
        new_status=data.status,
        progress_value=data.progress_value,
    )
    if data.status is not None:
        _refresh_status(session, plan, activity, actor=actor)
    return follow_up


def _refresh_status(
    session: Session, plan: ActionPlan, activity: Activity, *, actor: Actor
) -> None:
    # A back-dated report does not override a later one: recompute from all of them.
    status = current_status(session, activity.id or 0)
    if status == activity.status:
        return
    before = audit.snapshot(activity)
    now = utcnow()
    activity.status = status
    activity.version += 1
    activity.updated_at = now
    # The plan's tree shows activity statuses, so its version (its ETag) moves with them.
    plan.version += 1
    plan.updated_at = now
    session.add(activity)
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="status_change",
        entity="activity",
        entity_id=activity.id,
        before=before,
        after=audit.snapshot(activity),
    )
