"""HTTP: follow-ups reported on recommendations."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep
from app.follow_ups import service as follow_ups
from app.follow_ups.schemas import FollowUpRead, RecommendationFollowUpCreate
from app.openapi import CREATE_ERRORS, NOT_FOUND, READ_ERRORS, IdPath
from app.pagination import CursorQuery, LimitQuery, Page, paginate
from app.recommendations import service as recommendations
from app.recommendations.schemas import TRANSITION_CONFLICT
from app.responses import json_response, page_response

router = APIRouter(tags=["follow-ups"])

_RECOMMENDATION = "/recommendations/{recommendation_id}/follow-ups"


@router.get(_RECOMMENDATION, response_model=Page[FollowUpRead], responses=READ_ERRORS)
def list_recommendation_follow_ups(
    request: Request,
    recommendation_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List a recommendation's follow-ups, newest `reported_on` first."""
    recommendations.get(session, recommendation_id)
    rows, next_cursor, total = paginate(
        session,
        follow_ups.list_query(recommendation_id=recommendation_id),
        follow_ups.NEWEST_FIRST,
        limit=limit,
        cursor=cursor,
        row_keys=lambda row: [row.reported_on, row.id],
    )
    return page_response(request, [follow_ups.to_read(row) for row in rows], next_cursor, total)


@router.post(
    _RECOMMENDATION,
    status_code=201,
    response_model=FollowUpRead,
    responses={**CREATE_ERRORS, **NOT_FOUND, **TRANSITION_CONFLICT},
    description=(
        "Report what was done on a recommendation. Admins, the secretariat of the "
        "recommendation's region and the institutions responsible for it may report; an "
        "institution token reports for its own institution only (and may omit `institution`). "
        "A `status` moves the recommendation through the same workflow as "
        "`PATCH /recommendations/{id}`, with the description as the history note; reporting "
        "the status it already has changes nothing."
    ),
)
def create_recommendation_follow_up(
    request: Request,
    recommendation_id: IdPath,
    data: RecommendationFollowUpCreate,
    session: WriteSessionDep,
    actor: CurrentActor,
) -> Response:
    """Report a follow-up on a recommendation, optionally changing its status."""
    recommendation = recommendations.get(session, recommendation_id, for_update=True)
    follow_up = follow_ups.create_for_recommendation(session, recommendation, data, actor=actor)
    row = follow_ups.get_row(session, follow_up.id or 0, recommendation_id=recommendation_id)
    item = follow_ups.to_read(row)
    session.commit()
    return json_response(
        request,
        item,
        status_code=201,
        headers={"Location": f"{request.url.path}/{follow_up.id}"},
    )


@router.get(_RECOMMENDATION + "/{follow_up_id}", response_model=FollowUpRead, responses=READ_ERRORS)
def get_recommendation_follow_up(
    request: Request,
    recommendation_id: IdPath,
    follow_up_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
) -> Response:
    """Return one follow-up of a recommendation."""
    row = follow_ups.get_row(session, follow_up_id, recommendation_id=recommendation_id)
    return json_response(request, follow_ups.to_read(row))
