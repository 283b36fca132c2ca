"""Meetings: reading stored minutes, listing meetings, withdrawing minutes, the demo minutes.

Posting and amending live in `ingest.py` and `amend.py`.
"""

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import audit
from app.auth import Actor, require_region_write
from app.errors import NotFound
from app.institutions.schemas import InstitutionSummary
from app.meetings import ingest
from app.meetings.schemas import (
    ActivityRef,
    AttendeeRead,
    BodySummary,
    ChairRead,
    MeetingRead,
    MeetingSummary,
    MinutesDocument,
    ProblemInMinutes,
    RecommendationInMinutes,
    ResponsibleRead,
)
from app.models import (
    Body,
    BodyKind,
    Meeting,
    MeetingKind,
    Problem,
    ProblemTheme,
    Recommendation,
    RecommendationStatus,
    Role,
    utcnow,
)
from app.recommendations import workflow
from app.recommendations.service import ACTIVITY, INSTITUTION, REC, RESPONSIBLE, TABLES
from app.regions import service as regions
from app.text import like_pattern

ATTENDANCE = TABLES["attendance"]
PROBLEM = TABLES["problem"]

WITHDRAWN_NOTE = "meeting withdrawn"
DEMO_MINUTES = Path(__file__).resolve().parent.parent / "demo" / "minutes"


def get(session: Session, meeting_id: int, *, for_update: bool = False) -> Meeting:
    """Return a meeting by id (locked for the transaction if `for_update`), or NotFound."""
    meeting = session.get(Meeting, meeting_id, with_for_update=for_update)
    if meeting is None:
        raise NotFound(f"there is no meeting {meeting_id}")
    return meeting


def document_version(session: Session, meeting: Meeting) -> int:
    """Return the version of a meeting's whole minutes, its problems and recommendations included.

    Every change to any of them bumps one of the summed versions and none ever decreases, so
    the sum grows with every change: it is a valid version (and ETag) of the document.
    """
    problems = (
        select(func.coalesce(func.sum(PROBLEM.c.version), 0))
        .where(PROBLEM.c.meeting_id == meeting.id)
        .scalar_subquery()
    )
    recommendations = (
        select(func.coalesce(func.sum(REC.c.version), 0))
        .where(REC.c.meeting_id == meeting.id)
        .scalar_subquery()
    )
    summed = session.execute(select(problems + recommendations)).scalar_one()
    return meeting.version + int(summed)


def body_summary(body: Body) -> BodySummary:
    """Return the short form of a body."""
    return BodySummary(
        id=body.id or 0,
        region=regions.region_code(body.region_id) or "",
        kind=BodyKind(body.kind),
        name=body.name,
    )


def to_read(session: Session, meeting: Meeting) -> MeetingRead:
    """Return the stored minutes of a meeting with ids added (removed items left out).

    Column selects, not ORM objects: a posted document's answer reads back some 80 rows.
    """
    body = session.get(Body, meeting.body_id)
    assert body is not None
    attendance = session.execute(
        select(ATTENDANCE.c.institution_id, ATTENDANCE.c.representatives)
        .where(ATTENDANCE.c.meeting_id == meeting.id)
        .order_by(ATTENDANCE.c.position)
    ).all()
    problems = session.execute(
        select(
            PROBLEM.c.id,
            PROBLEM.c.key,
            PROBLEM.c.raised_by_id,
            PROBLEM.c.theme,
            PROBLEM.c.title,
            PROBLEM.c.description,
        )
        .where(PROBLEM.c.meeting_id == meeting.id, PROBLEM.c.withdrawn_at.is_(None))
        .order_by(PROBLEM.c.id)
    ).all()
    kept = (REC.c.meeting_id == meeting.id, REC.c.removed_at.is_(None))
    recommendations = session.execute(
        select(
            REC.c.id,
            REC.c.key,
            REC.c.problem_id,
            REC.c.text,
            REC.c.status,
            REC.c.version,
            REC.c.due_on,
            ACTIVITY.c.id.label("activity_id"),
            ACTIVITY.c.action_plan_id,
            ACTIVITY.c.code,
        )
        .outerjoin(ACTIVITY, ACTIVITY.c.id == REC.c.activity_id)
        .where(*kept)
        .order_by(REC.c.id)
    ).all()
    responsible = session.execute(
        select(RESPONSIBLE.c.recommendation_id, RESPONSIBLE.c.institution_id, RESPONSIBLE.c.lead)
        .where(RESPONSIBLE.c.recommendation_id.in_(select(REC.c.id).where(*kept)))
        .order_by(RESPONSIBLE.c.recommendation_id, RESPONSIBLE.c.position)
    ).all()
    institution_ids = {a.institution_id for a in attendance}
    institution_ids |= {p.raised_by_id for p in problems if p.raised_by_id is not None}
    institution_ids |= {r.institution_id for r in responsible}
    if meeting.chair_institution_id is not None:
        institution_ids.add(meeting.chair_institution_id)
    known = {
        row.id: InstitutionSummary(id=row.id, name=row.name, abbreviation=row.abbreviation)
        for row in session.execute(
            select(INSTITUTION.c.id, INSTITUTION.c.name, INSTITUTION.c.abbreviation).where(
                INSTITUTION.c.id.in_(institution_ids)
            )
        )
    }
    keys = {p.id: p.key for p in problems}
    people: dict[int, list[ResponsibleRead]] = {}
    for row in responsible:
        people.setdefault(row.recommendation_id, []).append(
            ResponsibleRead(institution=known[row.institution_id], lead=row.lead)
        )
    region = regions.region_ref(meeting.region_id)
    assert region is not None
    return MeetingRead(
        id=meeting.id or 0,
        external_ref=meeting.external_ref,
        body=body_summary(body),
        region=region,
        held_on=meeting.held_on,
        kind=MeetingKind(meeting.kind),
        title=meeting.title,
        location=meeting.location,
        chair=ChairRead(
            name=meeting.chair_name,
            position=meeting.chair_position,
            institution=known.get(meeting.chair_institution_id or 0),
        )
        if meeting.chair_name
        else None,
        summary=meeting.summary,
        agenda=list(meeting.agenda),
        attendees=[
            AttendeeRead(
                institution=known[a.institution_id],
                representatives=list(a.representatives),
            )
            for a in attendance
        ],
        problems=[
            ProblemInMinutes(
                id=p.id,
                key=p.key,
                raised_by=known.get(p.raised_by_id or 0),
                theme=ProblemTheme(p.theme),
                title=p.title,
                description=p.description,
            )
            for p in problems
        ],
        recommendations=[
            RecommendationInMinutes(
                id=r.id,
                key=r.key,
                problem=keys.get(r.problem_id) if r.problem_id else None,
                problem_id=r.problem_id,
                text=r.text,
                status=RecommendationStatus(r.status),
                version=r.version,
                responsible=people.get(r.id, []),
                due_on=r.due_on,
                activity=ActivityRef(id=r.activity_id, plan_id=r.action_plan_id, code=r.code)
                if r.activity_id is not None
                else None,
            )
            for r in recommendations
        ],
        withdrawn=meeting.withdrawn_at is not None,
        withdrawn_at=meeting.withdrawn_at,
        version=document_version(session, meeting),
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
    )


# --- lists --------------------------------------------------------------------------------------


def list_query(
    *,
    region: str | None,
    body: int | None,
    date_from: date | None,
    date_to: date | None,
    kind: str | None,
    q: str | None,
    include_withdrawn: bool,
) -> Any:
    """Return the filtered select of (meeting, body) rows."""
    stmt = select(Meeting, Body).join(Body, col(Body.id) == Meeting.body_id)
    if region:
        stmt = stmt.where(Meeting.region_id == regions.region_id(region))
    if body is not None:
        stmt = stmt.where(Meeting.body_id == body)
    if date_from is not None:
        stmt = stmt.where(Meeting.held_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Meeting.held_on <= date_to)
    if kind:
        stmt = stmt.where(Meeting.kind == kind)
    if q:
        stmt = stmt.where(col(Meeting.title_folded).like(like_pattern(q), escape="\\"))
    if not include_withdrawn:
        stmt = stmt.where(col(Meeting.withdrawn_at).is_(None))
    return stmt


def summaries(session: Session, rows: Sequence[Any]) -> list[MeetingSummary]:
    """Return list items for (meeting, body) rows, counting items with one query per kind."""
    ids = [meeting.id for meeting, _ in rows]
    problem_counts = dict(
        session.exec(
            select(Problem.meeting_id, func.count())
            .where(col(Problem.meeting_id).in_(ids), col(Problem.withdrawn_at).is_(None))
            .group_by(col(Problem.meeting_id))
        ).all()
    )
    recommendation_counts = dict(
        session.exec(
            select(Recommendation.meeting_id, func.count())
            .where(
                col(Recommendation.meeting_id).in_(ids), col(Recommendation.removed_at).is_(None)
            )
            .group_by(col(Recommendation.meeting_id))
        ).all()
    )
    items = []
    for meeting, body in rows:
        region = regions.region_ref(meeting.region_id)
        assert region is not None
        items.append(
            MeetingSummary(
                id=meeting.id,
                external_ref=meeting.external_ref,
                held_on=meeting.held_on,
                kind=MeetingKind(meeting.kind),
                title=meeting.title,
                body=body_summary(body),
                region=region,
                problems=problem_counts.get(meeting.id, 0),
                recommendations=recommendation_counts.get(meeting.id, 0),
                withdrawn=meeting.withdrawn_at is not None,
            )
        )
    return items


# --- withdrawing --------------------------------------------------------------------------------


def withdraw(session: Session, meeting: Meeting, *, actor: Actor) -> None:
    """Withdraw minutes: the meeting is marked, its recommendations withdrawn; nothing deleted."""
    require_region_write(actor, meeting.region_id)
    if meeting.withdrawn_at is not None:
        return
    before = audit.snapshot(meeting)
    now = utcnow()
    meeting.withdrawn_at = now
    meeting.version += 1
    meeting.updated_at = now
    session.add(meeting)
    active = session.exec(
        select(Recommendation).where(
            Recommendation.meeting_id == meeting.id,
            Recommendation.status != RecommendationStatus.withdrawn,
        )
    ).all()
    for recommendation in active:
        workflow.record_change(
            session,
            recommendation,
            RecommendationStatus.withdrawn,
            actor=actor,
            note=WITHDRAWN_NOTE,
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="withdraw",
        entity="meeting",
        entity_id=meeting.id,
        before={k: before[k] for k in ("id", "withdrawn_at", "version")},
        after={
            "id": meeting.id,
            "withdrawn_at": now.isoformat(),
            "version": meeting.version,
            "withdrawn_recommendations": [r.id for r in active],
        },
    )


# --- demo ---------------------------------------------------------------------------------------


def load_demo_minutes(session: Session, *, actor_name: str = "demo") -> int:
    """Post every demo minutes document through the ingestion service; return how many were new.

    Idempotent: minutes already stored are left as they are. The caller commits.
    """
    actor = Actor(actor_name, Role.admin)
    created = 0
    for path in sorted(DEMO_MINUTES.glob("*.json")):
        document = MinutesDocument.model_validate_json(path.read_bytes())
        created += ingest.submit(session, document, actor=actor).created
    return created
