"""HTTP: API tokens (admins only)."""

from fastapi import APIRouter, Request
from sqlmodel import select
from starlette.responses import Response

from app.auth import CurrentActor, require_admin
from app.db import SessionDep, WriteSessionDep
from app.errors import NotFound
from app.models import ApiToken
from app.openapi import CREATE_ERRORS, FORBIDDEN, LIST_ERRORS, NOT_FOUND, IdPath
from app.pagination import CursorQuery, Keyset, LimitQuery, Page, SortKey, paginate
from app.responses import json_response, page_response
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreate, TokenCreated, TokenRead

router = APIRouter(prefix="/tokens", tags=["tokens"])

BY_ID = Keyset("id", [SortKey(ApiToken.id)])


@router.get("", response_model=Page[TokenRead], responses={**LIST_ERRORS, **FORBIDDEN})
def list_tokens(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List API tokens (never the tokens themselves)."""
    require_admin(actor)
    rows, next_cursor, total = paginate(
        session, select(ApiToken), BY_ID, limit=limit, cursor=cursor, row_keys=lambda r: [r[0].id]
    )
    return page_response(request, [tokens.to_read(r[0]) for r in rows], next_cursor, total)


@router.post("", status_code=201, response_model=TokenCreated, responses=CREATE_ERRORS)
def create_token(
    request: Request, data: TokenCreate, session: WriteSessionDep, actor: CurrentActor
) -> Response:
    """Create an API token; the response is the only time the token is shown."""
    require_admin(actor)
    record, token = tokens.create(session, data, actor=actor)
    session.commit()
    created = TokenCreated(**tokens.to_read(record).model_dump(), token=token)
    return json_response(
        request,
        created,
        status_code=201,
        headers={"Location": f"{request.url.path}/{record.id}", "Cache-Control": "no-store"},
    )


@router.delete("/{token_id}", status_code=204, responses={**CREATE_ERRORS, **NOT_FOUND})
def revoke_token(token_id: IdPath, session: WriteSessionDep, actor: CurrentActor) -> Response:
    """Revoke an API token; it stops working within 5 seconds in every server process."""
    require_admin(actor)
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound(f"there is no token {token_id}")
    tokens.revoke(session, record, actor=actor)
    session.commit()
    return Response(status_code=204)
