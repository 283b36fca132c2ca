"""Posting minutes: a whole document is checked first, then stored all of it or none of it.

Idempotent by (body, external_ref): the sha256 of the canonical document tells a retry (the
same meeting back, nothing written) from different minutes (409, amend them with PUT).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert
from sqlmodel import Session, SQLModel, select

from app import audit
from app.auth import Actor, require_region_write
from app.errors import Conflict, ProblemCollector
from app.meetings.checks import INVALID_TITLE, Resolved, check, find_body
from app.meetings.schemas import MinutesDocument, RecommendationIn
from app.models import (
    Attendance,
    Body,
    Institution,
    Meeting,
    Problem,
    Recommendation,
    RecommendationResponsible,
    RecommendationStatus,
    RecommendationStatusChange,
    utcnow,
)
from app.text import fold


def document_hash(document: MinutesDocument, body_id: int) -> str:
    """Return the sha256 of the canonical JSON of a validated document (keys sorted).

    The body is hashed as its id, so naming it by id or by region and kind is the same document.
    """
    data = document.model_dump(mode="json")
    data["body"] = {"id": body_id}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class Outcome:
    """The result of posting minutes: the meeting, and whether this post created it."""

    meeting: Meeting
    created: bool


def find_existing(session: Session, body_id: int, external_ref: str) -> Meeting | None:
    """Return the meeting of a body with this external_ref, if there is one."""
    return session.exec(
        select(Meeting).where(Meeting.body_id == body_id, Meeting.external_ref == external_ref)
    ).first()


def submit(session: Session, document: MinutesDocument, *, actor: Actor) -> Outcome:
    """Store posted minutes, or return the meeting a previous post of the same document made.

    Raises 403 for another region's body, 409 for different minutes under the same
    external_ref (or withdrawn ones), 422 listing every problem of the document.
    """
    problems = ProblemCollector()
    body, region_id = find_body(session, document.body, problems)
    # An unknown body id gives no region: then only the role itself is checked.
    require_region_write(actor, region_id if region_id is not None else actor.region_id)
    digest = document_hash(document, body.id or 0) if body is not None else ""
    if body is not None:
        existing = find_existing(session, body.id or 0, document.external_ref)
        if existing is not None:
            return Outcome(_repeat(existing, digest), created=False)
    resolved = check(session, document, region_id=region_id, problems=problems)
    if problems and body is not None:
        # A concurrent post of the same minutes may have committed since the look above (its
        # new institutions now "already exist"): then this post is a repeat, not an error.
        existing = find_existing(session, body.id or 0, document.external_ref)
        if existing is not None:
            return Outcome(_repeat(existing, digest), created=False)
    problems.raise_if_any(title=INVALID_TITLE)
    assert body is not None
    return Outcome(_create(session, document, body, resolved, digest, actor=actor), created=True)


def _repeat(existing: Meeting, digest: str) -> Meeting:
    path = f"PUT /api/v1/meetings/{existing.id}"
    if existing.withdrawn_at is not None:
        raise Conflict(
            f"these minutes were posted as meeting {existing.id}, which has been withdrawn; "
            "withdrawn minutes cannot be posted again (use another external_ref for new minutes)",
            meeting_id=existing.id,
        )
    if existing.document_hash != digest:
        raise Conflict(
            f"meeting {existing.id} already holds different minutes with this external_ref "
            f"for this body; to amend them use {path}",
            meeting_id=existing.id,
        )
    return existing


def store_new_institutions(session: Session, resolved: Resolved, *, actor: Actor) -> None:
    """Add the institutions a document declares, each with its audit event."""
    for institution in resolved.new_institutions:
        session.add(institution)
    session.flush()
    for institution in resolved.new_institutions:
        audit.record(
            session,
            actor=actor,
            action="create",
            entity="institution",
            entity_id=institution.id,
            after=audit.snapshot(institution),
        )


def apply_fields(meeting: Meeting, document: MinutesDocument, resolved: Resolved) -> None:
    """Copy the document's own fields (not its lists of items) onto a meeting."""
    chair = document.chair
    meeting.held_on = document.held_on
    meeting.kind = document.kind
    meeting.title = document.title
    meeting.title_folded = fold(document.title)
    meeting.location = document.location
    meeting.chair_name = chair.name if chair else None
    meeting.chair_position = chair.position if chair else None
    meeting.chair_institution_id = resolved.chair.id if resolved.chair else None
    meeting.summary = document.summary
    meeting.agenda = list(document.agenda)


def insert_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert rows of a table in one statement: no ORM objects (minutes have many rows)."""
    if rows:
        session.flush()  # rows they refer to first
        session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


def insert_returning_ids(
    session: Session, model: type[SQLModel], rows: list[dict[str, Any]]
) -> list[int]:
    """Insert rows of a table in one statement and return their ids, in the rows' order."""
    if not rows:
        return []
    session.flush()
    table = model.__table__  # type: ignore[attr-defined]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [row.id for row in session.execute(stmt, rows)]


def add_attendance(session: Session, meeting: Meeting, resolved: Resolved) -> None:
    """Add the meeting's attendance rows in document order."""
    rows = [
        {
            "meeting_id": meeting.id,
            "institution_id": institution.id,
            "representatives": people,
            "position": position,
        }
        for position, (institution, people) in enumerate(resolved.attendees)
    ]
    insert_rows(session, Attendance, rows)


def problem_text(title: str, description: str | None) -> str:
    """Return the folded text a problem's `q` filter searches."""
    return fold(f"{title} {description or ''}")


def responsible_rows(
    recommendation_id: int, responsible: list[tuple[Institution, bool]]
) -> list[dict[str, Any]]:
    """Return the rows of a recommendation's responsible institutions, in document order."""
    return [
        {
            "recommendation_id": recommendation_id,
            "institution_id": institution.id,
            "lead": lead,
            "position": position,
        }
        for position, (institution, lead) in enumerate(responsible)
    ]


def new_recommendation_row(
    meeting: Meeting,
    item: RecommendationIn,
    problem_id: int | None,
    activity_id: int | None,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Return the row of an open recommendation of a meeting."""
    return {
        "meeting_id": meeting.id,
        "body_id": meeting.body_id,
        "region_id": meeting.region_id,
        "key": item.key,
        "problem_id": problem_id,
        "text": item.text,
        "text_folded": fold(item.text),
        "status": RecommendationStatus.open,
        "due_on": item.due_on,
        "activity_id": activity_id,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }


def opening_row(recommendation_id: int, *, actor: Actor, at: datetime) -> dict[str, Any]:
    """Return the history row that opens a recommendation."""
    return {
        "recommendation_id": recommendation_id,
        "from_status": None,
        "to_status": RecommendationStatus.open,
        "note": None,
        "actor": actor.name,
        "at": at,
    }


def audit_summary(
    meeting: Meeting, attendees: list[int], problem_keys: list[str], recommendation_keys: list[str]
) -> dict[str, Any]:
    """Return the compact form of minutes the audit log keeps (no free text)."""
    return {
        "id": meeting.id,
        "body_id": meeting.body_id,
        "external_ref": meeting.external_ref,
        "held_on": meeting.held_on.isoformat(),
        "kind": meeting.kind,
        "document_hash": meeting.document_hash,
        "withdrawn_at": meeting.withdrawn_at.isoformat() if meeting.withdrawn_at else None,
        "attendees": attendees,
        "problems": problem_keys,
        "recommendations": recommendation_keys,
    }


def _create(
    session: Session,
    document: MinutesDocument,
    body: Body,
    resolved: Resolved,
    digest: str,
    *,
    actor: Actor,
) -> Meeting:
    store_new_institutions(session, resolved, actor=actor)
    meeting = Meeting(
        body_id=body.id or 0,
        region_id=body.region_id,
        external_ref=document.external_ref,
        held_on=document.held_on,
        kind=document.kind,
        title=document.title,
        document_hash=digest,
    )
    apply_fields(meeting, document, resolved)
    session.add(meeting)
    # Flushed alone first: a concurrent post of the same minutes fails here, on the
    # (body_id, external_ref) constraint, and the edge answers as if it had come second.
    session.flush()
    add_attendance(session, meeting, resolved)
    now = utcnow()
    problem_ids = dict(
        zip(
            [item.key for item in document.problems],
            insert_returning_ids(
                session,
                Problem,
                [
                    {
                        "meeting_id": meeting.id,
                        "key": item.key,
                        "raised_by_id": raised_by.id if raised_by else None,
                        "theme": item.theme,
                        "title": item.title,
                        "description": item.description,
                        "text_folded": problem_text(item.title, item.description),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for item, raised_by in zip(document.problems, resolved.raised_by, strict=True)
                ],
            ),
            strict=True,
        )
    )
    recommendation_ids = insert_returning_ids(
        session,
        Recommendation,
        [
            new_recommendation_row(
                meeting, item, problem_ids.get(item.problem or ""), links.activity_id, at=now
            )
            for item, links in zip(document.recommendations, resolved.recommendations, strict=True)
        ],
    )
    responsible: list[dict[str, Any]] = []
    for recommendation_id, links in zip(recommendation_ids, resolved.recommendations, strict=True):
        responsible += responsible_rows(recommendation_id, links.responsible)
    insert_rows(session, RecommendationResponsible, responsible)
    insert_rows(
        session,
        RecommendationStatusChange,
        [opening_row(i, actor=actor, at=now) for i in recommendation_ids],
    )
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="meeting",
        entity_id=meeting.id,
        after=audit_summary(
            meeting,
            [i.id or 0 for i, _ in resolved.attendees],
            [item.key for item in document.problems],
            [item.key for item in document.recommendations],
        ),
    )
    session.flush()
    return meeting
