"""Bodies (KRATs and Technical Tables) and their member lists."""

from typing import Any

from sqlmodel import Session, col, delete, select

from app import audit
from app.auth import Actor, require_region_write
from app.bodies.schemas import BodyCreate, BodyRead, BodyUpdate, MemberIn, MemberRead
from app.errors import Conflict, Invalid, NotFound, ProblemCollector, pointer
from app.institutions import service as institutions
from app.institutions.schemas import InstitutionSummary
from app.models import Body, BodyKind, Institution, MemberRole, Membership, utcnow
from app.regions import service as regions
from app.text import fold


def to_read(body: Body) -> BodyRead:
    """Return the wire form of a body."""
    return BodyRead(
        id=body.id or 0,
        kind=BodyKind(body.kind),
        region=regions.region_code(body.region_id) or "",
        name=body.name,
        parent_id=body.parent_id,
        version=body.version,
        created_at=body.created_at,
        updated_at=body.updated_at,
    )


def get(session: Session, body_id: int, *, for_update: bool = False) -> Body:
    """Return a body by id (locked for the transaction if `for_update`), or raise NotFound."""
    body = session.get(Body, body_id, with_for_update=for_update)
    if body is None:
        raise NotFound(f"there is no body {body_id}")
    return body


def find(session: Session, region_id: int, kind: str) -> Body | None:
    """Return the region's one body of `kind`, if it exists."""
    return session.exec(select(Body).where(Body.region_id == region_id, Body.kind == kind)).first()


def _check_parent(session: Session, parent_id: int | None, body: Body) -> None:
    if parent_id is None:
        return
    problems = ProblemCollector()
    parent = session.get(Body, parent_id)
    if parent is None:
        problems.add("/parent_id", f"there is no body {parent_id}")
    elif parent.region_id != body.region_id:
        problems.add("/parent_id", "the parent body must be of the same region")
    elif parent.id == body.id or parent.kind != BodyKind.committee:
        problems.add("/parent_id", "the parent must be the region's committee (KRAT)")
    problems.raise_if_any(title="Invalid body")


def create(session: Session, data: BodyCreate, *, actor: Actor) -> Body:
    """Create a body; a region may have one body of each kind."""
    region_id = regions.region_id(data.region)
    require_region_write(actor, region_id)
    existing = find(session, region_id, data.kind)
    if existing is not None:
        raise Conflict(
            f"{data.region} already has a body of kind {data.kind}", existing_id=existing.id
        )
    body = Body(
        kind=data.kind,
        region_id=region_id,
        name=data.name,
        name_folded=fold(data.name),
        parent_id=data.parent_id,
    )
    _check_parent(session, data.parent_id, body)
    session.add(body)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="body",
        entity_id=body.id,
        after=audit.snapshot(body),
    )
    return body


def update(session: Session, body: Body, data: BodyUpdate, *, actor: Actor) -> Body:
    """Rename a body or change its parent committee."""
    require_region_write(actor, body.region_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Invalid([{"pointer": "/name", "detail": "must not be null"}], title="Invalid body")
    before = audit.snapshot(body)
    if "name" in changes:
        body.name = changes["name"]
        body.name_folded = fold(body.name)
    if "parent_id" in changes:
        _check_parent(session, changes["parent_id"], body)
        body.parent_id = changes["parent_id"]
    body.version += 1
    body.updated_at = utcnow()
    session.add(body)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="body",
        entity_id=body.id,
        before=before,
        after=audit.snapshot(body),
    )
    return body


def members_query(body_id: int) -> Any:
    """Return the select of a body's members with their institutions, in list order."""
    return (
        select(Membership, Institution)
        .join(Institution, col(Institution.id) == Membership.institution_id)
        .where(Membership.body_id == body_id)
    )


def member_to_read(membership: Membership, institution: Institution) -> MemberRead:
    """Return the wire form of one seat."""
    return MemberRead(
        institution=InstitutionSummary(
            id=institution.id or 0, name=institution.name, abbreviation=institution.abbreviation
        ),
        role=MemberRole(membership.role),
        since=membership.since,
        until=membership.until,
    )


def replace_members(
    session: Session, body: Body, members: list[MemberIn], *, actor: Actor
) -> list[tuple[Membership, Institution]]:
    """Replace a body's member list with `members`, resolving every institution reference."""
    require_region_write(actor, body.region_id)
    problems = ProblemCollector()
    resolver = institutions.Resolver.for_region(session, body.region_id, problems)
    resolved: list[tuple[MemberIn, Institution]] = []
    seen: dict[int, int] = {}
    for index, member in enumerate(members):
        where = pointer(index, "institution")
        institution = resolver.resolve(member.institution, where)
        if institution is None:
            continue
        if institution.id in seen:
            problems.add(
                where, f"the same institution is already listed at /{seen[institution.id]}"
            )
            continue
        seen[institution.id or 0] = index
        resolved.append((member, institution))
    problems.raise_if_any(title="Invalid member list")

    before = [audit.snapshot(m) for m, _ in session.exec(members_query(body.id or 0)).all()]
    session.execute(delete(Membership).where(col(Membership.body_id) == body.id))
    seats = []
    for position, (member, institution) in enumerate(resolved):
        membership = Membership(
            body_id=body.id or 0,
            institution_id=institution.id or 0,
            role=member.role,
            since=member.since,
            until=member.until,
            position=position,
        )
        session.add(membership)
        seats.append((membership, institution))
    body.version += 1
    body.updated_at = utcnow()
    session.add(body)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="replace_members",
        entity="body",
        entity_id=body.id,
        before={"members": before},
        after={"members": [audit.snapshot(m) for m, _ in seats]},
    )
    return seats
