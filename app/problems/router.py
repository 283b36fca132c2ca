"""HTTP: the problems raised at meetings."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep
from app.models import Meeting, Problem, ProblemTheme
from app.openapi import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, IdPath, IfMatchHeader, id_query
from app.pagination import (
    CursorQuery,
    Keyset,
    LimitQuery,
    Page,
    SortKey,
    paginate,
    parse_date,
)
from app.problems import service as problems
from app.problems.schemas import ProblemRead, ProblemUpdate
from app.regions.schemas import RegionCode
from app.responses import check_if_match, json_response, page_response, version_etag

router = APIRouter(prefix="/problems", tags=["problems"])

NEWEST_FIRST = Keyset(
    "held_on",
    [
        SortKey(Meeting.held_on, descending=True, parse=parse_date),
        SortKey(Problem.id, descending=True),
    ],
)


@router.get("", response_model=Page[ProblemRead], responses=LIST_ERRORS)
def list_problems(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    region: RegionCode | None = None,
    body: Annotated[int | None, id_query("A body id.", 2)] = None,
    meeting: Annotated[int | None, id_query("A meeting id.", 7)] = None,
    theme: ProblemTheme | None = None,
    raised_by: Annotated[
        int | None, id_query("The id of the institution that raised it.", 9)
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Part of the title or description; case- and diacritic-insensitive.",
            examples=["nxenes"],
        ),
    ] = None,
    include_withdrawn: Annotated[
        bool,
        Query(description="Include problems removed from their minutes or of withdrawn minutes."),
    ] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List problems raised at meetings, newest meeting first, with filters."""
    stmt = problems.list_query(
        region=region,
        body=body,
        meeting=meeting,
        theme=theme,
        raised_by=raised_by,
        q=q,
        include_withdrawn=include_withdrawn,
    )
    rows, next_cursor, total = paginate(
        session,
        stmt,
        NEWEST_FIRST,
        limit=limit,
        cursor=cursor,
        row_keys=lambda r: [r[1].held_on, r[0].id],
    )
    return page_response(request, problems.to_read_many(session, rows), next_cursor, total)


@router.get("/{problem_id}", response_model=ProblemRead, responses=READ_ERRORS)
def get_problem(
    request: Request, problem_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return one problem with its meeting."""
    problem = problems.get(session, problem_id)
    return json_response(
        request, problems.to_read(session, problem), etag=version_etag(problem.version)
    )


@router.patch("/{problem_id}", response_model=ProblemRead, responses=WRITE_ERRORS)
def update_problem(
    request: Request,
    problem_id: IdPath,
    data: ProblemUpdate,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Correct a problem's theme, title, description or the institution that raised it."""
    problem = problems.get(session, problem_id, for_update=True)
    check_if_match(request, problem.version)
    problem = problems.update(session, problem, data, actor=actor)
    session.commit()
    return json_response(
        request, problems.to_read(session, problem), etag=version_etag(problem.version)
    )
