"""HTTP: regional action plans, their progress, and follow-ups on their activities."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from app import clock
from app.action_plans import follow_ups, progress, progress_export, tree
from app.action_plans import service as plans
from app.action_plans.progress_schemas import ProgressRead
from app.action_plans.schemas import (
    ActivityFollowUpCreate,
    PlanCreate,
    PlanRead,
    PlanSummary,
    PlanUpdate,
)
from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep
from app.exports import ExportFormat, Lang, csv_response, xlsx_response
from app.follow_ups import service as shared_follow_ups
from app.follow_ups.schemas import FollowUpRead
from app.models import ActionPlan, PlanStatus
from app.openapi import (
    CREATE_ERRORS,
    LIST_ERRORS,
    NOT_FOUND,
    READ_ERRORS,
    WRITE_ERRORS,
    IdPath,
    IfMatchHeader,
)
from app.pagination import (
    CursorQuery,
    Keyset,
    LimitQuery,
    Page,
    SortKey,
    paginate,
    parse_date,
)
from app.regions.schemas import REGION_CODE_PATTERN
from app.responses import (
    check_if_match,
    data_revision,
    json_response,
    page_response,
    version_etag,
)

router = APIRouter(tags=["action plans"])

BY_PERIOD = Keyset(
    "period_start",
    [
        SortKey(ActionPlan.period_start, descending=True, parse=parse_date),
        SortKey(ActionPlan.id, descending=True),
    ],
)

PLAN_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The region already has a plan whose period overlaps this one",
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": "https://krat.example/problems/conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "AL-10 already has action plan 3 for 2018-01-01–2019-12-31, "
                    "which overlaps this period; change that plan or choose another period",
                    "existing_id": 3,
                },
            }
        },
    }
}
DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as JSON, CSV (one row per activity) or XLSX "
        "(an activities sheet and a summary sheet)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


@router.get("/action-plans", response_model=Page[PlanSummary], responses=LIST_ERRORS)
def list_action_plans(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    region: Annotated[str | None, Query(pattern=REGION_CODE_PATTERN, examples=["AL-10"])] = None,
    active_on: Annotated[
        date | None,
        Query(description="Only plans whose period contains this date.", examples=["2019-01-01"]),
    ] = None,
    status: PlanStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List action plans, newest period first, filtered by region, date and status."""
    stmt = tree.list_query(region=region, active_on=active_on, status=status)
    rows, next_cursor, total = paginate(
        session,
        stmt,
        BY_PERIOD,
        limit=limit,
        cursor=cursor,
        row_keys=lambda r: [r[0].period_start, r[0].id],
    )
    return page_response(request, [tree.to_summary(row[0]) for row in rows], next_cursor, total)


@router.post(
    "/action-plans",
    status_code=201,
    response_model=PlanRead,
    responses={**CREATE_ERRORS, **PLAN_CONFLICT},
)
def create_action_plan(
    request: Request, data: PlanCreate, session: WriteSessionDep, actor: CurrentActor
) -> Response:
    """Create a region's action plan from its document (all of it or nothing).

    The period must be `KRAT_PLAN_PERIOD_MONTHS` months long (24 by default): `period_end` is
    `period_start` plus that many months minus one day. Deadlines lie inside the period,
    objective and activity codes are unique within the plan, an activity has at most one lead,
    and institutions are resolved by id, name or abbreviation in the plan's region and
    nationally. Every problem is reported at once, with its JSON Pointer. A plan overlapping
    another plan of the same region is refused with 409 naming that plan (`existing_id`).
    """
    plan = plans.create(session, data, actor=actor)
    session.commit()
    return json_response(
        request,
        tree.to_read(session, plan),
        status_code=201,
        etag=plan_etag(session, plan),
        headers={"Location": f"{request.url.path}/{plan.id}"},
    )


def plan_etag(session: Session, plan: ActionPlan) -> str:
    """A plan's ETag: its version, qualified by what its tree shows of other resources (linked
    recommendations, their `overdue` as of today), which every write moves the revision of."""
    return version_etag(plan.version, data_revision(session), clock.today())


@router.get("/action-plans/{plan_id}", response_model=PlanRead, responses=READ_ERRORS)
def get_action_plan(
    request: Request, plan_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return a plan's whole tree: objectives, activities, responsible institutions, links.

    Linked recommendations show `overdue` as of today.
    """
    plan = plans.get(session, plan_id)
    return json_response(request, tree.to_read(session, plan), etag=plan_etag(session, plan))


@router.patch("/action-plans/{plan_id}", response_model=PlanRead, responses=WRITE_ERRORS)
def update_action_plan(
    request: Request,
    plan_id: IdPath,
    data: PlanUpdate,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Change a plan's title, status or national reference, and edit activities in place.

    Each entry of `activities` names an activity of this plan by `id` and gives the fields to
    change; the activity keeps its id, follow-ups and linked recommendations. Activity statuses
    move only through follow-ups. The plan's version (ETag) changes with every edit.
    """
    plan = plans.get(session, plan_id, for_update=True)
    check_if_match(request, plan.version)
    plan = plans.update(session, plan, data, actor=actor)
    session.commit()
    return json_response(request, tree.to_read(session, plan), etag=plan_etag(session, plan))


@router.get(
    "/action-plans/{plan_id}/progress",
    response_model=ProgressRead,
    responses={**READ_ERRORS, **DOWNLOADS},
    summary="Report a plan's progress as of a date",
    description=progress.RULES,
)
def get_action_plan_progress(
    request: Request,
    plan_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
    as_of: Annotated[
        date | None,
        Query(
            description="The snapshot date: follow-ups reported after it are ignored. "
            "Default: today.",
            examples=["2019-01-01"],
        ),
    ] = None,
    format: ExportFormat = ExportFormat.json,
    lang: Annotated[
        Lang, Query(description="Column headers and labels of CSV and XLSX.")
    ] = Lang.en,
) -> Response:
    """Report a plan's progress as of a date, as JSON, CSV or XLSX."""
    plan = plans.get(session, plan_id)
    report = progress.report(session, plan, as_of or clock.today())
    if format == ExportFormat.csv:
        return csv_response(
            progress_export.filename(report),
            progress_export.activity_header(lang),
            progress_export.activity_rows(report, lang),
        )
    if format == ExportFormat.xlsx:
        return xlsx_response(progress_export.filename(report), progress_export.sheets(report, lang))
    return json_response(request, report)


# --- follow-ups on activities ------------------------------------------------------------------


@router.get(
    "/activities/{activity_id}/follow-ups",
    response_model=Page[FollowUpRead],
    responses=READ_ERRORS,
    tags=["follow-ups"],
)
def list_activity_follow_ups(
    request: Request,
    activity_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List an activity's follow-ups, latest report first."""
    follow_ups.get_activity(session, activity_id)
    rows, next_cursor, total = paginate(
        session,
        shared_follow_ups.list_query(activity_id=activity_id),
        shared_follow_ups.NEWEST_FIRST,
        limit=limit,
        cursor=cursor,
        row_keys=lambda row: [row.reported_on, row.id],
    )
    return page_response(
        request, [shared_follow_ups.to_read(row) for row in rows], next_cursor, total
    )


@router.post(
    "/activities/{activity_id}/follow-ups",
    status_code=201,
    response_model=FollowUpRead,
    responses={**CREATE_ERRORS, **NOT_FOUND},
    tags=["follow-ups"],
)
def create_activity_follow_up(
    request: Request,
    activity_id: IdPath,
    data: ActivityFollowUpCreate,
    session: WriteSessionDep,
    actor: CurrentActor,
) -> Response:
    """Report progress on an activity, optionally moving its status.

    Allowed to admins, the plan region's secretariat, and institution tokens of an institution
    responsible for the activity (which report as that institution). `reported_on` may not be
    in the future nor before the plan period starts; a back-dated report counts from its date.
    """
    follow_up = follow_ups.create(session, activity_id, data, actor=actor)
    row = shared_follow_ups.get_row(session, follow_up.id or 0, activity_id=activity_id)
    item = shared_follow_ups.to_read(row)
    session.commit()
    return json_response(
        request,
        item,
        status_code=201,
        headers={"Location": f"{request.url.path}/{follow_up.id}"},
    )


@router.get(
    "/activities/{activity_id}/follow-ups/{follow_up_id}",
    response_model=FollowUpRead,
    responses=READ_ERRORS,
    tags=["follow-ups"],
)
def get_activity_follow_up(
    request: Request,
    activity_id: IdPath,
    follow_up_id: IdPath,
    session: SessionDep,
    _actor: CurrentActor,
) -> Response:
    """Return one follow-up of an activity."""
    row = shared_follow_ups.get_row(session, follow_up_id, activity_id=activity_id)
    return json_response(request, shared_follow_ups.to_read(row))
