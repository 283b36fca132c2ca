"""HTTP: meetings and their minutes."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from app.auth import CurrentActor
from app.db import SessionDep, WriteSessionDep
from app.meetings import amend as amending
from app.meetings import ingest
from app.meetings import service as meetings
from app.meetings.schemas import EXAMPLE_MINUTES, MeetingRead, MeetingSummary, MinutesDocument
from app.models import Meeting, MeetingKind
from app.openapi import (
    CREATE_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdPath,
    IfMatchHeader,
    id_query,
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
from app.regions.schemas import RegionCode
from app.responses import check_if_match, json_response, page_response, version_etag

router = APIRouter(prefix="/meetings", tags=["meetings"])

NEWEST_FIRST = Keyset(
    "held_on",
    [
        SortKey(Meeting.held_on, descending=True, parse=parse_date),
        SortKey(Meeting.id, descending=True),
    ],
)

MinutesBody = Annotated[
    MinutesDocument,
    Body(
        openapi_examples={
            "durres": {
                "summary": "Technical Table of Durrës, 27 October 2017",
                "value": EXAMPLE_MINUTES,
            }
        }
    ),
]

REPEATED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The same minutes were posted before: the stored meeting; nothing created",
    }
}


@router.get("", response_model=Page[MeetingSummary], responses=LIST_ERRORS)
def list_meetings(
    request: Request,
    session: SessionDep,
    _actor: CurrentActor,
    region: RegionCode | None = None,
    body: Annotated[int | None, id_query("A body id.", 2)] = None,
    date_from: Annotated[
        date | None,
        Query(alias="from", description="Held on or after this date.", examples=["2017-10-01"]),
    ] = None,
    date_to: Annotated[
        date | None,
        Query(alias="to", description="Held on or before this date.", examples=["2017-10-31"]),
    ] = None,
    kind: MeetingKind | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Part of the title; case- and diacritic-insensitive.",
            examples=["tryezen teknike"],
        ),
    ] = None,
    include_withdrawn: Annotated[bool, Query(description="Include withdrawn minutes.")] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List meetings, newest first, filtered by region, body, dates, kind and title."""
    stmt = meetings.list_query(
        region=region,
        body=body,
        date_from=date_from,
        date_to=date_to,
        kind=kind,
        q=q,
        include_withdrawn=include_withdrawn,
    )
    rows, next_cursor, total = paginate(
        session,
        stmt,
        NEWEST_FIRST,
        limit=limit,
        cursor=cursor,
        row_keys=lambda r: [r[0].held_on, r[0].id],
    )
    return page_response(request, meetings.summaries(session, rows), next_cursor, total)


@router.post(
    "",
    status_code=201,
    response_model=MeetingRead,
    responses={**REPEATED, **CREATE_ERRORS},
)
def create_meeting(
    request: Request, document: MinutesBody, session: WriteSessionDep, actor: CurrentActor
) -> Response:
    """Post the minutes of a meeting: all of it is stored, or none of it.

    Idempotent by body and `external_ref`: the same document again answers 200 with the
    stored meeting; different minutes under the same `external_ref` are a 409 — amend them
    with `PUT /meetings/{id}`. Every problem of the document is reported at once (422).
    """
    # The answer is read inside the transaction: on SQLite a read after the commit would take
    # the write lock again (write sessions begin IMMEDIATE), and hold up the next writer.
    try:
        outcome = ingest.submit(session, document, actor=actor)
        minutes = meetings.to_read(session, outcome.meeting)
        session.commit()
    except IntegrityError:
        # A concurrent post of the same minutes won the (body, external_ref) race: answer as
        # the second post would have, from what it stored.
        session.rollback()
        outcome = ingest.submit(session, document, actor=actor)
        minutes = meetings.to_read(session, outcome.meeting)
        session.commit()
    headers = {"Location": f"{request.url.path}/{minutes.id}"} if outcome.created else None
    return json_response(
        request,
        minutes,
        status_code=201 if outcome.created else 200,
        etag=version_etag(minutes.version),
        headers=headers,
    )


@router.get("/{meeting_id}", response_model=MeetingRead, responses=READ_ERRORS)
def get_meeting(
    request: Request, meeting_id: IdPath, session: SessionDep, _actor: CurrentActor
) -> Response:
    """Return a meeting's minutes as stored, with the ids of everything in them."""
    minutes = meetings.to_read(session, meetings.get(session, meeting_id))
    return json_response(request, minutes, etag=version_etag(minutes.version))


@router.put("/{meeting_id}", response_model=MeetingRead, responses=WRITE_ERRORS)
def amend_meeting(
    request: Request,
    meeting_id: IdPath,
    document: MinutesBody,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Amend a meeting's minutes; problems and recommendations are matched by key.

    A matched recommendation keeps its id, status, history and follow-ups; a new key is
    created; a removed key is withdrawn (never deleted); a removed key that comes back is
    restored. `body` and `external_ref` must be those the minutes were posted with.
    """
    meeting = meetings.get(session, meeting_id, for_update=True)
    check_if_match(request, meetings.document_version(session, meeting))
    amending.amend(session, meeting, document, actor=actor)
    minutes = meetings.to_read(session, meeting)  # before the commit, as create_meeting does
    session.commit()
    return json_response(request, minutes, etag=version_etag(minutes.version))


@router.delete(
    "/{meeting_id}",
    status_code=204,
    response_class=Response,
    responses=WRITE_ERRORS,
)
def withdraw_meeting(
    request: Request,
    meeting_id: IdPath,
    session: WriteSessionDep,
    actor: CurrentActor,
    if_match: IfMatchHeader = None,
) -> Response:
    """Withdraw a meeting's minutes: its recommendations become withdrawn; nothing is deleted."""
    meeting = meetings.get(session, meeting_id, for_update=True)
    check_if_match(request, meetings.document_version(session, meeting))
    meetings.withdraw(session, meeting, actor=actor)
    session.commit()
    return Response(status_code=204)
