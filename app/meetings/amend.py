"""Amending minutes (`PUT /meetings/{id}`): items are matched by key, nothing is deleted.

A matched recommendation keeps its id, status, history and follow-ups; a new key is created
open; a removed key is withdrawn through the status workflow and marked removed; a removed key
that comes back is restored. Removed problems are marked withdrawn.
"""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from app import audit
from app.auth import Actor, require_region_write
from app.errors import Conflict, ProblemCollector
from app.meetings import ingest
from app.meetings.checks import INVALID_TITLE, Resolved, ResolvedRecommendation, check, find_body
from app.meetings.schemas import MinutesDocument, ProblemIn, RecommendationIn
from app.models import (
    Attendance,
    Meeting,
    Problem,
    Recommendation,
    RecommendationResponsible,
    RecommendationStatus,
    RecommendationStatusChange,
    utcnow,
)
from app.recommendations import workflow
from app.text import fold

REMOVED_NOTE = "removed from the minutes by an amendment"
RESTORED_NOTE = "restored to the minutes by an amendment"

_MEETING_FIELDS = (
    "held_on",
    "kind",
    "title",
    "location",
    "chair_name",
    "chair_position",
    "chair_institution_id",
    "summary",
    "agenda",
)


def amend(session: Session, meeting: Meeting, document: MinutesDocument, *, actor: Actor) -> bool:
    """Make a meeting's stored minutes those of `document`; return whether anything changed."""
    require_region_write(actor, meeting.region_id)
    if meeting.withdrawn_at is not None:
        raise Conflict(
            f"meeting {meeting.id} has been withdrawn; withdrawn minutes cannot be amended",
            meeting_id=meeting.id,
        )
    problems = ProblemCollector()
    body, _ = find_body(session, document.body, problems)
    if body is not None and body.id != meeting.body_id:
        problems.add("/body", f"these minutes belong to body {meeting.body_id} and cannot move")
    if document.external_ref != meeting.external_ref:
        problems.add("/external_ref", "must equal the external_ref the minutes were posted with")
    resolved = check(
        session, document, region_id=meeting.region_id, problems=problems, amending=True
    )
    problems.raise_if_any(title=INVALID_TITLE)

    before = _summary(session, meeting)
    ingest.store_new_institutions(session, resolved, actor=actor)
    old_fields = {name: getattr(meeting, name) for name in _MEETING_FIELDS}
    ingest.apply_fields(meeting, document, resolved)
    changed = old_fields != {name: getattr(meeting, name) for name in _MEETING_FIELDS}
    changed |= _replace_attendance(session, meeting, resolved)
    problem_ids, problems_changed = _amend_problems(session, meeting, document.problems, resolved)
    recommendations_changed = _amend_recommendations(
        session, meeting, document.recommendations, resolved.recommendations, problem_ids, actor
    )
    digest = ingest.document_hash(document, meeting.body_id)
    changed |= problems_changed or recommendations_changed or bool(resolved.new_institutions)
    if not changed and digest == meeting.document_hash:
        return False
    meeting.document_hash = digest
    meeting.version += 1
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="meeting",
        entity_id=meeting.id,
        before=before,
        after=_summary(session, meeting),
    )
    return True


def _summary(session: Session, meeting: Meeting) -> dict[str, Any]:
    attendees = session.exec(
        select(Attendance.institution_id)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(col(Attendance.position))
    ).all()
    problem_keys = session.exec(
        select(Problem.key).where(
            Problem.meeting_id == meeting.id,
            col(Problem.withdrawn_at).is_(None),
        )
    ).all()
    recommendation_keys = session.exec(
        select(Recommendation.key).where(
            Recommendation.meeting_id == meeting.id,
            col(Recommendation.removed_at).is_(None),
        )
    ).all()
    summary = ingest.audit_summary(
        meeting, list(attendees), sorted(problem_keys), sorted(recommendation_keys)
    )
    summary["version"] = meeting.version
    return summary


def _replace_attendance(session: Session, meeting: Meeting, resolved: Resolved) -> bool:
    stored = session.exec(
        select(Attendance.institution_id, Attendance.representatives)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(col(Attendance.position))
    ).all()
    wanted = [(i.id, people) for i, people in resolved.attendees]
    if [tuple(row) for row in stored] == wanted:
        return False
    session.execute(delete(Attendance).where(col(Attendance.meeting_id) == meeting.id))
    session.flush()
    ingest.add_attendance(session, meeting, resolved)
    return True


def _amend_problems(
    session: Session, meeting: Meeting, items: list[ProblemIn], resolved: Resolved
) -> tuple[dict[str, int], bool]:
    """Update, create, withdraw or restore problems by key; return their ids by key."""
    stored = {
        p.key: p
        for p in session.exec(select(Problem).where(Problem.meeting_id == meeting.id)).all()
    }
    changed = False
    now = utcnow()
    for item, raised_by in zip(items, resolved.raised_by, strict=True):
        values: dict[str, Any] = {
            "raised_by_id": raised_by.id if raised_by else None,
            "theme": item.theme,
            "title": item.title,
            "description": item.description,
            "text_folded": ingest.problem_text(item.title, item.description),
            "withdrawn_at": None,
        }
        problem = stored.get(item.key)
        if problem is None:
            problem = Problem(meeting_id=meeting.id or 0, key=item.key, **values)
            stored[item.key] = problem
        elif all(getattr(problem, k) == v for k, v in values.items()):
            continue
        else:
            problem.sqlmodel_update(values)
            problem.version += 1
            problem.updated_at = now
        session.add(problem)
        changed = True
    kept = {item.key for item in items}
    for key, problem in stored.items():
        if key not in kept and problem.withdrawn_at is None:
            problem.withdrawn_at = now
            problem.version += 1
            problem.updated_at = now
            session.add(problem)
            changed = True
    session.flush()
    return {key: p.id or 0 for key, p in stored.items()}, changed


def _amend_recommendations(
    session: Session,
    meeting: Meeting,
    items: list[RecommendationIn],
    links: list[ResolvedRecommendation],
    problem_ids: dict[str, int],
    actor: Actor,
) -> bool:
    """Update, create, remove or restore recommendations by key."""
    stored = {
        r.key: r
        for r in session.exec(
            select(Recommendation).where(Recommendation.meeting_id == meeting.id)
        ).all()
    }
    responsible = _responsible_of(session, [r.id or 0 for r in stored.values()])
    changed = False
    now = utcnow()
    for item, link in zip(items, links, strict=True):
        recommendation = stored.get(item.key)
        problem_id = problem_ids.get(item.problem) if item.problem else None
        if recommendation is None:
            row = ingest.new_recommendation_row(meeting, item, problem_id, link.activity_id, at=now)
            [new_id] = ingest.insert_returning_ids(session, Recommendation, [row])
            ingest.insert_rows(
                session,
                RecommendationResponsible,
                ingest.responsible_rows(new_id, link.responsible),
            )
            ingest.insert_rows(
                session,
                RecommendationStatusChange,
                [ingest.opening_row(new_id, actor=actor, at=now)],
            )
            changed = True
            continue
        if _update_recommendation(
            session, recommendation, item, link, problem_id, responsible, now, actor
        ):
            changed = True
        if recommendation.removed_at is not None:
            _restore(session, recommendation, actor)
            changed = True
    kept = {item.key for item in items}
    for key, recommendation in stored.items():
        if key in kept or recommendation.removed_at is not None:
            continue
        recommendation.removed_at = now
        if recommendation.status == RecommendationStatus.withdrawn:
            recommendation.version += 1
            recommendation.updated_at = now
            session.add(recommendation)
        else:
            workflow.record_change(
                session,
                recommendation,
                RecommendationStatus.withdrawn,
                actor=actor,
                note=REMOVED_NOTE,
            )
        changed = True
    session.flush()
    return changed


def _responsible_of(session: Session, ids: list[int]) -> dict[int, list[tuple[int, bool]]]:
    found: dict[int, list[tuple[int, bool]]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.exec(
        select(RecommendationResponsible)
        .where(col(RecommendationResponsible.recommendation_id).in_(ids))
        .order_by(col(RecommendationResponsible.position))
    ).all()
    for row in rows:
        found[row.recommendation_id].append((row.institution_id, row.lead))
    return found


def _update_recommendation(
    session: Session,
    recommendation: Recommendation,
    item: RecommendationIn,
    link: ResolvedRecommendation,
    problem_id: int | None,
    responsible: dict[int, list[tuple[int, bool]]],
    now: datetime,
    actor: Actor,
) -> bool:
    values = {
        "text": item.text,
        "text_folded": fold(item.text),
        "due_on": item.due_on,
        "problem_id": problem_id,
        "activity_id": link.activity_id,
    }
    wanted = [(i.id or 0, lead) for i, lead in link.responsible]
    same_people = responsible.get(recommendation.id or 0) == wanted
    if same_people and all(getattr(recommendation, k) == v for k, v in values.items()):
        return False
    before = audit.snapshot(recommendation)
    recommendation.sqlmodel_update(values)
    if not same_people:
        session.execute(
            delete(RecommendationResponsible).where(
                col(RecommendationResponsible.recommendation_id) == recommendation.id
            )
        )
        session.flush()
        ingest.insert_rows(
            session,
            RecommendationResponsible,
            ingest.responsible_rows(recommendation.id or 0, link.responsible),
        )
    recommendation.version += 1
    recommendation.updated_at = now
    session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="recommendation",
        entity_id=recommendation.id,
        before=before,
        after={**audit.snapshot(recommendation), "responsible": wanted},
    )
    return True


def _restore(session: Session, recommendation: Recommendation, actor: Actor) -> None:
    """Bring a removed key back; reopen it only if the removal is what withdrew it."""
    recommendation.removed_at = None
    last = session.exec(
        select(RecommendationStatusChange)
        .where(RecommendationStatusChange.recommendation_id == recommendation.id)
        .order_by(col(RecommendationStatusChange.id).desc())
    ).first()
    if last is not None and last.note == REMOVED_NOTE:
        workflow.record_change(
            session, recommendation, RecommendationStatus.open, actor=actor, note=RESTORED_NOTE
        )
    else:
        recommendation.version += 1
        recommendation.updated_at = utcnow()
        session.add(recommendation)
