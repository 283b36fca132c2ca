"""Problems raised at meetings: reading, listing and correcting them."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from app import audit
from app.auth import Actor, require_region_write
from app.errors import NotFound, ProblemCollector
from app.institutions import service as institutions
from app.institutions.schemas import InstitutionSummary
from app.meetings import ingest
from app.meetings import service as meetings
from app.models import Body, Institution, Meeting, Problem, ProblemTheme, utcnow
from app.problems.schemas import MeetingRef, ProblemRead, ProblemUpdate
from app.regions import service as regions
from app.text import like_pattern


def get(session: Session, problem_id: int, *, for_update: bool = False) -> Problem:
    """Return a problem by id (locked for the transaction if `for_update`), or NotFound."""
    problem = session.get(Problem, problem_id, with_for_update=for_update)
    if problem is None:
        raise NotFound(f"there is no problem {problem_id}")
    return problem


def select_rows() -> Any:
    """Return the select of (problem, meeting, body) rows."""
    return (
        select(Problem, Meeting, Body)
        .join(Meeting, col(Meeting.id) == Problem.meeting_id)
        .join(Body, col(Body.id) == Meeting.body_id)
    )


def list_query(
    *,
    region: str | None,
    body: int | None,
    meeting: int | None,
    theme: str | None,
    raised_by: int | None,
    q: str | None,
    include_withdrawn: bool,
) -> Any:
    """Return the filtered select of (problem, meeting, body) rows."""
    stmt = select_rows()
    if region:
        stmt = stmt.where(Meeting.region_id == regions.region_id(region))
    if body is not None:
        stmt = stmt.where(Meeting.body_id == body)
    if meeting is not None:
        stmt = stmt.where(Problem.meeting_id == meeting)
    if theme:
        stmt = stmt.where(Problem.theme == theme)
    if raised_by is not None:
        stmt = stmt.where(Problem.raised_by_id == raised_by)
    if q:
        stmt = stmt.where(col(Problem.text_folded).like(like_pattern(q), escape="\\"))
    if not include_withdrawn:
        stmt = stmt.where(col(Problem.withdrawn_at).is_(None), col(Meeting.withdrawn_at).is_(None))
    return stmt


def to_read_many(session: Session, rows: Sequence[Any]) -> list[ProblemRead]:
    """Return the wire form of (problem, meeting, body) rows, loading institutions at once."""
    ids = {p.raised_by_id for p, _, _ in rows if p.raised_by_id is not None}
    known = {
        i.id: InstitutionSummary(id=i.id or 0, name=i.name, abbreviation=i.abbreviation)
        for i in session.exec(select(Institution).where(col(Institution.id).in_(ids))).all()
    }
    items = []
    for problem, meeting, body in rows:
        region = regions.region_ref(meeting.region_id)
        assert region is not None
        withdrawn_at = problem.withdrawn_at or meeting.withdrawn_at
        items.append(
            ProblemRead(
                id=problem.id or 0,
                key=problem.key,
                meeting=MeetingRef(
                    id=meeting.id or 0,
                    held_on=meeting.held_on,
                    title=meeting.title,
                    body=meetings.body_summary(body),
                    region=region,
                ),
                raised_by=known.get(problem.raised_by_id or 0),
                theme=ProblemTheme(problem.theme),
                title=problem.title,
                description=problem.description,
                withdrawn=withdrawn_at is not None,
                withdrawn_at=withdrawn_at,
                version=problem.version,
                created_at=problem.created_at,
                updated_at=problem.updated_at,
            )
        )
    return items


def to_read(session: Session, problem: Problem) -> ProblemRead:
    """Return the wire form of one problem."""
    row = session.exec(select_rows().where(Problem.id == problem.id)).one()
    return to_read_many(session, [row])[0]


def update(session: Session, problem: Problem, data: ProblemUpdate, *, actor: Actor) -> Problem:
    """Correct a problem's theme, title, description or raising institution."""
    meeting = meetings.get(session, problem.meeting_id)
    require_region_write(actor, meeting.region_id)
    changes = data.model_dump(exclude_unset=True)
    problems = ProblemCollector()
    for name in ("theme", "title"):
        if name in changes and changes[name] is None:
            problems.add(f"/{name}", "must not be null")
    raised_by: Institution | None = None
    if changes.get("raised_by") is not None:
        resolver = institutions.Resolver.for_region(session, meeting.region_id, problems)
        raised_by = resolver.resolve(changes["raised_by"], "/raised_by")
    problems.raise_if_any(title="Invalid problem")
    before = audit.snapshot(problem)
    if "raised_by" in changes:
        problem.raised_by_id = raised_by.id if raised_by else None
    for name in ("theme", "title", "description"):
        if name in changes:
            setattr(problem, name, changes[name])
    problem.text_folded = ingest.problem_text(problem.title, problem.description)
    problem.version += 1
    problem.updated_at = utcnow()
    session.add(problem)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="problem",
        entity_id=problem.id,
        before=before,
        after=audit.snapshot(problem),
    )
    return problem
