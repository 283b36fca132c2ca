"""HTTP: the regions."""

from fastapi import APIRouter, Request
from sqlmodel import select
from starlette.responses import Response

from app.auth import CurrentActor
from app.db import SessionDep
from app.models import Region
from app.openapi import LIST_ERRORS
from app.pagination import CursorQuery, Keyset, LimitQuery, Page, SortKey, paginate
from app.regions.schemas import RegionRead
from app.responses import page_response

router = APIRouter(prefix="/regions", tags=["regions"])

BY_CODE = Keyset("code", [SortKey(Region.id)])


@router.get("", response_model=Page[RegionRead], responses=LIST_ERRORS)
def list_regions(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List Albania's 12 regions (qarqe) with their ISO codes, in code order."""
    stmt = select(Region.id, Region.code, Region.name)
    rows, next_cursor, total = paginate(
        session, stmt, BY_CODE, limit=limit, cursor=cursor, row_keys=lambda r: [r.id]
    )
    items = [{"code": r.code, "name": r.name} for r in rows]
    return page_response(request, items, next_cursor, total)
