"""HTTP: the audit log (admins only)."""

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import select
from starlette.responses import Response

from app.audit_events.schemas import AuditEventRead
from app.auth import CurrentActor, require_admin
from app.db import SessionDep
from app.models import AuditEvent
from app.openapi import FORBIDDEN, LIST_ERRORS, id_query
from app.pagination import CursorQuery, Keyset, LimitQuery, Page, SortKey, paginate
from app.responses import page_response

router = APIRouter(prefix="/audit-events", tags=["audit"])

NEWEST_FIRST = Keyset("-id", [SortKey(AuditEvent.id, descending=True)])


@router.get("", response_model=Page[AuditEventRead], responses={**LIST_ERRORS, **FORBIDDEN})
def list_audit_events(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    entity: Annotated[str | None, Query(max_length=40, examples=["meeting"])] = None,
    entity_id: Annotated[int | None, id_query("The changed record's id.", 7)] = None,
    by: Annotated[str | None, Query(max_length=100, description="Token name.")] = None,
    from_: Annotated[
        date | None, Query(alias="from", description="On or after this day (UTC).")
    ] = None,
    to: Annotated[date | None, Query(description="On or before this day (UTC).")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List audit events, newest first: who changed what, before and after, and when."""
    require_admin(actor)
    stmt = select(AuditEvent)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if by:
        stmt = stmt.where(AuditEvent.actor == by)
    if from_:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(from_, time.min, UTC))
    if to:
        stmt = stmt.where(AuditEvent.at <= datetime.combine(to, time.max, UTC))
    rows, next_cursor, total = paginate(
        session, stmt, NEWEST_FIRST, limit=limit, cursor=cursor, row_keys=lambda r: [r[0].id]
    )
    items = [AuditEventRead.model_validate(r[0], from_attributes=True) for r in rows]
    return page_response(request, items, next_cursor, total)
