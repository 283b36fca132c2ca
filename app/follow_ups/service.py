"""Follow-ups: storing what institutions report, on a recommendation or an activity.

The generic part works on a `Subject` (which recommendation or activity, its region, who is
responsible for it); the recommendation part adds the status workflow. An activity's follow-ups
use the same `create` with their own subject and status rules.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session, SQLModel

from app import audit
from app.auth import Actor, require_follow_up_write
from app.errors import Forbidden, NotFound, ProblemCollector
from app.follow_ups.schemas import FollowUpBase, RecommendationFollowUpCreate
from app.institutions import service as institutions
from app.models import FollowUp, Institution, Recommendation, Role
from app.pagination import Keyset, SortKey, parse_date
from app.recommendations import service as recommendations
from app.recommendations import workflow
from app.recommendations.service import rfc3339

FOLLOW_UP = SQLModel.metadata.tables["follow_up"]
INSTITUTION = SQLModel.metadata.tables["institution"]
MEETING = SQLModel.metadata.tables["meeting"]

# Newest report first: what a reader of a recommendation wants to see is its latest news.
NEWEST_FIRST = Keyset(
    "reported_on",
    [
        SortKey(FOLLOW_UP.c.reported_on, descending=True, parse=parse_date),
        SortKey(FOLLOW_UP.c.id, descending=True),
    ],
)


@dataclass(frozen=True)
class Subject:
    """What a follow-up reports on: a recommendation or an activity (exactly one id is set)."""

    region_id: int
    responsible_ids: frozenset[int]
    recommendation_id: int | None = None
    activity_id: int | None = None
    # Reports dated before this day are refused (the meeting, the plan's start).
    not_before: date | None = None
    not_before_why: str = ""

    @property
    def entity(self) -> str:
        return "recommendation" if self.recommendation_id is not None else "activity"


def authorize(actor: Actor, subject: Subject) -> None:
    """Allow admins, the region's secretariat and the institutions responsible for `subject`."""
    require_follow_up_write(actor, subject.region_id, subject.responsible_ids)


def _reporting_institution(
    session: Session, subject: Subject, ref: int | str | None, actor: Actor
) -> Institution:
    problems = ProblemCollector()
    own = actor.institution_id if actor.role == Role.institution else None
    institution: Institution | None
    if ref is None and own is not None:
        institution = session.get(Institution, own)
    elif ref is None:
        institution = None
        problems.add("/institution", "is required: name the institution that reports")
    else:
        resolver = institutions.Resolver.for_region(session, subject.region_id, problems)
        institution = resolver.resolve(ref, "/institution")
    problems.raise_if_any(title="Invalid follow-up")
    if institution is None:
        raise NotFound(f"there is no institution {own}")
    if own is not None and institution.id != own:
        raise Forbidden("an institution token may report only for its own institution")
    return institution


def create(
    session: Session,
    subject: Subject,
    data: FollowUpBase,
    *,
    actor: Actor,
    new_status: str | None = None,
    progress_value: float | None = None,
) -> FollowUp:
    """Store a follow-up on `subject` after checking who may report it and its date."""
    authorize(actor, subject)
    institution = _reporting_institution(session, subject, data.institution, actor)
    if subject.not_before is not None and data.reported_on < subject.not_before:
        problems = ProblemCollector()
        problems.add(
            "/reported_on",
            f"must not be before {subject.not_before.isoformat()} ({subject.not_before_why})",
        )
        problems.raise_if_any(title="Invalid follow-up")
    follow_up = FollowUp(
        recommendation_id=subject.recommendation_id,
        activity_id=subject.activity_id,
        reported_on=data.reported_on,
        institution_id=institution.id or 0,
        description=data.description,
        progress_value=progress_value,
        new_status=new_status,
        actor=actor.name,
    )
    session.add(follow_up)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="follow_up",
        entity_id=follow_up.id,
        after=audit.snapshot(follow_up),
    )
    return follow_up


def recommendation_subject(session: Session, recommendation: Recommendation) -> Subject:
    """Return the follow-up subject of a recommendation."""
    held_on = session.execute(
        select(MEETING.c.held_on).where(MEETING.c.id == recommendation.meeting_id)
    ).scalar_one()
    return Subject(
        region_id=recommendation.region_id,
        responsible_ids=frozenset(recommendations.responsible_ids(session, recommendation.id or 0)),
        recommendation_id=recommendation.id,
        not_before=held_on,
        not_before_why="the day of the meeting that made the recommendation",
    )


def create_for_recommendation(
    session: Session,
    recommendation: Recommendation,
    data: RecommendationFollowUpCreate,
    *,
    actor: Actor,
) -> FollowUp:
    """Store a follow-up on a recommendation; a new status goes through the workflow."""
    subject = recommendation_subject(session, recommendation)
    authorize(actor, subject)
    # Reporting the status it already has is news, not a change.
    to_status = data.status if data.status and data.status != recommendation.status else None
    if to_status is not None:
        workflow.check_transition(
            recommendation.status, to_status, data.description, note_pointer="/description"
        )
    follow_up = create(session, subject, data, actor=actor, new_status=to_status)
    if to_status is not None:
        workflow.record_change(
            session, recommendation, to_status, actor=actor, note=data.description
        )
        session.flush()
    return follow_up


def list_query(*, recommendation_id: int | None = None, activity_id: int | None = None) -> Any:
    """Return the select of one subject's follow-ups with their institutions, unordered."""
    stmt = select(
        FOLLOW_UP,
        INSTITUTION.c.name.label("institution_name"),
        INSTITUTION.c.abbreviation.label("institution_abbreviation"),
    ).join(INSTITUTION, INSTITUTION.c.id == FOLLOW_UP.c.institution_id)
    if recommendation_id is not None:
        return stmt.where(FOLLOW_UP.c.recommendation_id == recommendation_id)
    return stmt.where(FOLLOW_UP.c.activity_id == activity_id)


def get_row(
    session: Session,
    follow_up_id: int,
    *,
    recommendation_id: int | None = None,
    activity_id: int | None = None,
) -> Row[Any]:
    """Return one follow-up row of the given subject, or raise NotFound."""
    stmt = list_query(recommendation_id=recommendation_id, activity_id=activity_id)
    row = session.execute(stmt.where(FOLLOW_UP.c.id == follow_up_id)).first()
    if row is None:
        raise NotFound(f"there is no follow-up {follow_up_id} on this subject")
    return row


def to_read(row: Row[Any]) -> dict[str, Any]:
    """Return the wire form of a follow-up row from `list_query`."""
    return {
        "id": row.id,
        "recommendation_id": row.recommendation_id,
        "activity_id": row.activity_id,
        "reported_on": row.reported_on,
        "institution": {
            "id": row.institution_id,
            "name": row.institution_name,
            "abbreviation": row.institution_abbreviation,
        },
        "description": row.description,
        "progress_value": row.progress_value,
        "new_status": row.new_status,
        "actor": row.actor,
        "created_at": rfc3339(row.created_at),
    }
