"""HTTP: recommendations — the dashboards' list and its exports, changes, history."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app import clock
from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep, autocommit_session
from app.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, ExportFormat, Lang
from app.models import RecommendationStatus
from app.openapi import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, IdPath, IfMatchHeader, id_query
from app.pagination import CursorQuery, LimitQuery, Page, paginate, totals
from app.recommendations import export, search
from app.recommendations import service as recommendations
from app.recommendations.schemas import (
    RECOMMENDATION_EXAMPLE,
    TRANSITION_CONFLICT,
    RecommendationRead,
    RecommendationSort,
    RecommendationUpdate,
    StatusChangeRead,
)
from app.recommendations.workflow import ALLOWED
from app.regions.schemas import RegionCode
from app.responses import (
    check_if_match,
    data_revision,
    json_response,
    not_modified,
    page_response,
    revision_etag,
    version_etag,
)

router = APIRouter(prefix="/recommendations", tags=["recommendations"])

_LIST_RESPONSES = {
    **LIST_ERRORS,
    200: {
        "description": "A page of recommendations (JSON), or every matching one as a download "
        "with `format=csv` or `format=xlsx`.",
        "content": {
            "application/json": {
                "example": {
                    "items": [RECOMMENDATION_EXAMPLE],
                    "next_cursor": "WyJkdWVfb24iLCIyMDE4LTAzLTMxIiw0MV0",
                    "total": 120,
                }
            },
            CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}

_WORKFLOW = "\n".join(
    f"- `{source}` → {', '.join(f'`{t}`' for t in targets) or 'nothing (final)'}"
    for source, targets in ALLOWED.items()
)


@router.get("", response_model=Page[RecommendationRead], responses=_LIST_RESPONSES)
def list_recommendations(
    request: Request,
    _actor: CurrentActor,
    status: Annotated[
        list[RecommendationStatus] | None,
        Query(description="Repeat for several: `status=open&status=in_progress`."),
    ] = None,
    region: Annotated[RegionCode | None, Query(description="The meeting's region.")] = None,
    body: Annotated[int | None, id_query("The meeting's body id.", 2)] = None,
    institution: Annotated[int | None, id_query("A responsible institution's id.", 9)] = None,
    overdue: Annotated[
        bool | None,
        Query(
            description="`true`: due date past and status `open` or `in_progress`; "
            "`false`: every other recommendation (undated ones included)."
        ),
    ] = None,
    due_before: Annotated[
        date | None, Query(description="Due on or before this date (inclusive).")
    ] = None,
    due_after: Annotated[
        date | None, Query(description="Due on or after this date (inclusive).")
    ] = None,
    meeting: Annotated[int | None, id_query("The meeting's id.", 7)] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words in the text; case- and diacritic-insensitive.",
            examples=["shkolle"],
        ),
    ] = None,
    sort: Annotated[
        RecommendationSort,
        Query(description="Order; `-` for descending. Recommendations without a due date last."),
    ] = RecommendationSort.due_on,
    format: Annotated[
        ExportFormat,
        Query(
            description="`json` pages; `csv` and `xlsx` download every matching recommendation "
            "in `sort` order (`limit` and `cursor` do not apply)."
        ),
    ] = ExportFormat.json,
    lang: Annotated[
        Lang, Query(description="Column headers and status labels of downloads.")
    ] = Lang.en,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List recommendations with their meeting and responsible institutions, or export them."""
    today = clock.today()
    filters = recommendations.Filters(
        status=tuple(sorted({str(s) for s in status or ()})),
        region=region,
        body=body,
        institution=institution,
        overdue=overdue,
        due_before=due_before,
        due_after=due_after,
        meeting=meeting,
        q=q,
    )
    # The dashboards' hot path: its session is opened here rather than as a dependency, so
    # the request costs one worker-thread hop instead of three. A page is one statement.
    with autocommit_session() as session:
        if format == ExportFormat.json and request.headers.get("if-none-match"):
            # Usually answered before routing (app.conditional); here when it could not be.
            etag = revision_etag(request.scope, data_revision(session), today)
            if (cached := not_modified(request, etag)) is not None:
                return cached
        filters = search.plan(session, filters)
        if format != ExportFormat.json:
            return export.response(format, filters, sort, lang, today)  # type: ignore[no-any-return]
        page = recommendations.page(session, filters, sort, limit=limit, cursor=cursor, today=today)
        total = totals.get(
            (str(session.get_bind().url), page.revision, today, filters),
            lambda: recommendations.count(session, filters, today),
        )
    etag = revision_etag(request.scope, page.revision, today)
    return page_response(request, page.items, page.next_cursor, total, etag=etag)


@router.get("/{recommendation_id}", response_model=RecommendationRead, responses=READ_ERRORS)
def get_recommendation(
    request: Request, recommendation_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return one recommendation."""
    item = recommendations.read(session, recommendation_id)
    return json_response(request, item, etag=version_etag(item["version"]))


@router.patch(
    "/{recommendation_id}",
    response_model=RecommendationRead,
    responses={**WRITE_ERRORS, **TRANSITION_CONFLICT},
    description=(
        "Change a recommendation's status (with a `note`, required for every change but "
        "`open` → `in_progress`), its due date or its link to an activity of an action plan of "
        "the same region. Sending the current status again changes nothing.\n\n"
        f"Allowed status changes (an illegal one is a 409 listing the allowed ones):\n\n"
        f"{_WORKFLOW}\n\n"
        "Secretariats may change only their own region's recommendations; institution and "
        "reader tokens none (institutions report through follow-ups)."
    ),
)
def update_recommendation(
    request: Request,
    recommendation_id: IdPath,
    data: RecommendationUpdate,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Move a recommendation through the workflow, or change its due date or activity link."""
    recommendation = recommendations.get(session, recommendation_id, for_update=True)
    check_if_match(request, recommendation.version)
    recommendations.update(session, recommendation, data, actor=actor)
    item = recommendations.read(session, recommendation_id)
    session.commit()
    return json_response(request, item, etag=version_etag(item["version"]))


@router.get(
    "/{recommendation_id}/history",
    response_model=Page[StatusChangeRead],
    responses=READ_ERRORS,
)
def list_history(
    request: Request,
    recommendation_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List a recommendation's status changes, oldest first: who, when, why."""
    recommendations.get(session, recommendation_id)
    rows, next_cursor, total = paginate(
        session,
        recommendations.history_query(recommendation_id),
        recommendations.HISTORY_KEYSET,
        limit=limit,
        cursor=cursor,
        row_keys=lambda row: [row.id],
    )
    items = [recommendations.history_item(row) for row in rows]
    return page_response(request, items, next_cursor, total)
