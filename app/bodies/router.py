"""HTTP: bodies (KRATs and Technical Tables) and their members."""

from typing import Annotated

from fastapi import APIRouter, Body, Request
from sqlmodel import select
from starlette.responses import Response

from app.auth import CurrentActor
from app.bodies import service as bodies
from app.bodies.schemas import MAX_MEMBERS, BodyCreate, BodyRead, BodyUpdate, MemberIn, MemberRead
from app.db import SessionDep, WriteSessionDep
from app.models import Body as BodyRow
from app.models import BodyKind, Membership
from app.openapi import (
    CREATE_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdPath,
    IfMatchHeader,
)
from app.pagination import CursorQuery, Keyset, LimitQuery, Page, SortKey, paginate
from app.regions import service as regions
from app.regions.schemas import RegionCode
from app.responses import check_if_match, json_response, page_response, version_etag

router = APIRouter(prefix="/bodies", tags=["bodies"])

BY_ID = Keyset("id", [SortKey(BodyRow.id)])
BY_POSITION = Keyset("position", [SortKey(Membership.position), SortKey(Membership.id)])


@router.get("", response_model=Page[BodyRead], responses=LIST_ERRORS)
def list_bodies(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    region: RegionCode | None = None,
    kind: BodyKind | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List bodies, filtered by region and kind."""
    stmt = select(BodyRow)
    if region:
        stmt = stmt.where(BodyRow.region_id == regions.region_id(region))
    if kind:
        stmt = stmt.where(BodyRow.kind == kind)
    rows, next_cursor, total = paginate(
        session, stmt, BY_ID, limit=limit, cursor=cursor, row_keys=lambda r: [r[0].id]
    )
    return page_response(request, [bodies.to_read(r[0]) for r in rows], next_cursor, total)


@router.post("", status_code=201, response_model=BodyRead, responses=CREATE_ERRORS)
def create_body(
    request: Request, data: BodyCreate, session: WriteSessionDep, actor: CurrentActor
) -> Response:
    """Create a KRAT or a Technical Table (one of each kind per region)."""
    body = bodies.create(session, data, actor=actor)
    session.commit()
    return json_response(
        request,
        bodies.to_read(body),
        status_code=201,
        etag=version_etag(body.version),
        headers={"Location": f"{request.url.path}/{body.id}"},
    )


@router.get("/{body_id}", response_model=BodyRead, responses=READ_ERRORS)
def get_body(
    request: Request, body_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return one body."""
    body = bodies.get(session, body_id)
    return json_response(request, bodies.to_read(body), etag=version_etag(body.version))


@router.patch("/{body_id}", response_model=BodyRead, responses=WRITE_ERRORS)
def update_body(
    request: Request,
    body_id: IdPath,
    data: BodyUpdate,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Rename a body or change the committee it works under."""
    body = bodies.get(session, body_id, for_update=True)
    check_if_match(request, body.version)
    body = bodies.update(session, body, data, actor=actor)
    session.commit()
    return json_response(request, bodies.to_read(body), etag=version_etag(body.version))


@router.get("/{body_id}/members", response_model=Page[MemberRead], responses=READ_ERRORS)
def list_members(
    request: Request,
    body_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List a body's member institutions with their roles, in the order last set."""
    bodies.get(session, body_id)
    rows, next_cursor, total = paginate(
        session,
        bodies.members_query(body_id),
        BY_POSITION,
        limit=limit,
        cursor=cursor,
        row_keys=lambda r: [r[0].position, r[0].id],
    )
    return page_response(
        request, [bodies.member_to_read(m, i) for m, i in rows], next_cursor, total
    )


@router.put("/{body_id}/members", response_model=list[MemberRead], responses=WRITE_ERRORS)
def replace_members(
    request: Request,
    body_id: IdPath,
    members: Annotated[
        list[MemberIn],
        Body(
            max_length=MAX_MEMBERS,
            examples=[
                [
                    {"institution": 5, "role": "member", "since": "2017-01-26"},
                    {"institution": "Prefektura e Qarkut Durrës", "role": "chair"},
                ]
            ],
        ),
    ],
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Replace a body's whole member list; institutions by id, name or abbreviation.

    `If-Match` takes the body's ETag (from `GET /bodies/{id}`): the member list is part of it.
    """
    body = bodies.get(session, body_id, for_update=True)
    check_if_match(request, body.version)
    seats = bodies.replace_members(session, body, members, actor=actor)
    session.commit()
    return json_response(
        request, [bodies.member_to_read(m, i) for m, i in seats], etag=version_etag(body.version)
    )
