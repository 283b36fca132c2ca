"""HTTP: member institutions."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep
from app.institutions import service as institutions
from app.institutions.schemas import InstitutionCreate, InstitutionRead, InstitutionUpdate
from app.models import Institution, InstitutionKind
from app.openapi import (
    CREATE_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdPath,
    IfMatchHeader,
)
from app.pagination import CursorQuery, Keyset, LimitQuery, Page, SortKey, paginate
from app.responses import check_if_match, json_response, page_response, version_etag

router = APIRouter(prefix="/institutions", tags=["institutions"])

BY_NAME = Keyset("name", [SortKey(Institution.name_folded), SortKey(Institution.id)])


@router.get("", response_model=Page[InstitutionRead], responses=LIST_ERRORS)
def list_institutions(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Part of the name or abbreviation; case- and diacritic-insensitive.",
            examples=["durres"],
        ),
    ] = None,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^(AL-(0[1-9]|1[0-2])|national)$",
            description="A region code, or `national` for institutions without a region.",
            examples=["AL-02"],
        ),
    ] = None,
    kind: InstitutionKind | None = None,
    active: bool | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List institutions by name, filtered by text, region, kind and whether active."""
    stmt = institutions.list_query(q=q, region=region, kind=kind, active=active)
    rows, next_cursor, total = paginate(
        session,
        stmt,
        BY_NAME,
        limit=limit,
        cursor=cursor,
        row_keys=lambda r: [r[0].name_folded, r[0].id],
    )
    items = [institutions.to_read(row[0]) for row in rows]
    return page_response(request, items, next_cursor, total)


@router.post(
    "",
    status_code=201,
    response_model=InstitutionRead,
    responses=CREATE_ERRORS,
)
def create_institution(
    request: Request, data: InstitutionCreate, session: WriteSessionDep, actor: CurrentActor
) -> Response:
    """Create a member institution (secretariats: of their own region only)."""
    institution = institutions.create(session, data, actor=actor)
    session.commit()
    return json_response(
        request,
        institutions.to_read(institution),
        status_code=201,
        etag=version_etag(institution.version),
        headers={"Location": f"{request.url.path}/{institution.id}"},
    )


@router.get("/{institution_id}", response_model=InstitutionRead, responses=READ_ERRORS)
def get_institution(
    request: Request, institution_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return one institution."""
    institution = institutions.get(session, institution_id)
    return json_response(
        request, institutions.to_read(institution), etag=version_etag(institution.version)
    )


@router.patch("/{institution_id}", response_model=InstitutionRead, responses=WRITE_ERRORS)
def update_institution(
    request: Request,
    institution_id: IdPath,
    data: InstitutionUpdate,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Change an institution's name, abbreviation, kind, level or whether it is active."""
    institution = institutions.get(session, institution_id, for_update=True)
    check_if_match(request, institution.version)
    institution = institutions.update(session, institution, data, actor=actor)
    session.commit()
    return json_response(
        request, institutions.to_read(institution), etag=version_etag(institution.version)
    )
