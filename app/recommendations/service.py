"""Recommendations: the dashboards' list, one item, the status workflow and other changes.

The list is the dashboards' hot query, so it is built from column selects, never ORM objects:
one query for the page (recommendation joined to meeting and body), one for the responsible
institutions of every id on the page, one for the linked activities' codes, and one count.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlmodel import Session, SQLModel

from app import audit, clock
from app.auth import Actor, require_region_write
from app.errors import Invalid, NotFound
from app.models import (
    ACTIVE_RECOMMENDATION_STATUSES,
    Recommendation,
    utcnow,
)
from app.pagination import Keyset, LruCache, SortKey, parse_date, parse_datetime
from app.recommendations import search, workflow
from app.recommendations.schemas import RecommendationSort, RecommendationUpdate
from app.regions import service as regions

TABLES = SQLModel.metadata.tables
REC = TABLES["recommendation"]
MEETING = TABLES["meeting"]
BODY = TABLES["body"]
RESPONSIBLE = TABLES["recommendation_responsible"]
INSTITUTION = TABLES["institution"]
ACTIVITY = TABLES["activity"]
PLAN = TABLES["action_plan"]
CHANGE = TABLES["recommendation_status_change"]

ACTIVE = [str(s) for s in ACTIVE_RECOMMENDATION_STATUSES]

KEYSETS: dict[RecommendationSort, Keyset] = {
    RecommendationSort.due_on: Keyset(
        "due_on", [SortKey(REC.c.due_on, nullable=True, parse=parse_date), SortKey(REC.c.id)]
    ),
    RecommendationSort.due_on_desc: Keyset(
        "-due_on",
        [
            SortKey(REC.c.due_on, descending=True, nullable=True, parse=parse_date),
            SortKey(REC.c.id, descending=True),
        ],
    ),
    RecommendationSort.created_at: Keyset(
        "created_at", [SortKey(REC.c.created_at, parse=parse_datetime), SortKey(REC.c.id)]
    ),
    RecommendationSort.created_at_desc: Keyset(
        "-created_at",
        [
            SortKey(REC.c.created_at, descending=True, parse=parse_datetime),
            SortKey(REC.c.id, descending=True),
        ],
    ),
}

HISTORY_KEYSET = Keyset("history", [SortKey(CHANGE.c.id)])


def sort_values(sort: RecommendationSort, row: Any) -> list[Any]:
    """Return a page row's values for the keys of `sort` (for its cursor)."""
    first = (
        row.due_on
        if sort in (RecommendationSort.due_on, RecommendationSort.due_on_desc)
        else (row.created_at)
    )
    return [first, row.id]


def rfc3339(value: datetime) -> str:
    """Return a timestamp as RFC 3339 in UTC with `Z` (SQLite's naive values are UTC)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    """Tell whether a recommendation is overdue: past its due date and still active."""
    return due_on is not None and due_on < today and status in ACTIVE


# --- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The recommendations list's filters; None or empty means "any"."""

    status: Sequence[str] = ()
    region: str | None = None
    body: int | None = None
    institution: int | None = None
    overdue: bool | None = None
    due_before: date | None = None
    due_after: date | None = None
    meeting: int | None = None
    q: str | None = None
    # Set by search.plan(): find `q` through the FTS index (SQLite, rare terms).
    q_by_index: bool = False


def conditions(filters: Filters, today: date) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions on the recommendation table for `filters`.

    Every value a request supplies is a named parameter, so that statements built on these
    conditions can be cached by their shape and run with each request's values (page()).
    """
    where: list[ColumnElement[bool]] = []
    if filters.status:
        statuses = sorted(set(filters.status))
        where.append(REC.c.status.in_(bindparam("status", statuses, expanding=True)))
    if filters.region:
        region_id = regions.region_id(filters.region)
        where.append(REC.c.region_id == bindparam("region_id", region_id, type_=Integer))
    if filters.body is not None:
        where.append(REC.c.body_id == bindparam("body_id", filters.body, type_=Integer))
    if filters.meeting is not None:
        where.append(REC.c.meeting_id == bindparam("meeting_id", filters.meeting, type_=Integer))
    if filters.institution is not None:
        where.append(
            exists().where(
                RESPONSIBLE.c.recommendation_id == REC.c.id,
                RESPONSIBLE.c.institution_id
                == bindparam("institution_id", filters.institution, type_=Integer),
            )
        )
    today_value = bindparam("today", today, type_=Date)
    if filters.overdue is True:
        where.append(and_(REC.c.due_on < today_value, REC.c.status.in_(ACTIVE)))
    elif filters.overdue is False:
        # The exact complement, spelled out so that NULL due dates count as not overdue.
        where.append(
            or_(REC.c.due_on.is_(None), REC.c.due_on >= today_value, REC.c.status.not_in(ACTIVE))
        )
    if filters.due_before is not None:
        where.append(REC.c.due_on <= bindparam("due_before", filters.due_before, type_=Date))
    if filters.due_after is not None:
        where.append(REC.c.due_on >= bindparam("due_after", filters.due_after, type_=Date))
    if filters.q:
        where.append(search.condition(filters, REC.c.text_folded))
    return where


def count(session: Session, filters: Filters, today: date) -> int:
    """Count the recommendations matching `filters` (on the recommendation table alone)."""
    stmt = select(func.count()).select_from(REC).where(*conditions(filters, today))
    return int(session.execute(stmt).scalar_one())


def items_query(filters: Filters, today: date) -> Select[Any]:
    """Return the select of list rows (recommendation, meeting, body columns), unordered."""
    return (
        select(
            REC.c.id,
            REC.c.key,
            REC.c.text,
            REC.c.status,
            REC.c.due_on,
            REC.c.version,
            REC.c.problem_id,
            REC.c.activity_id,
            REC.c.region_id,
            REC.c.created_at,
            REC.c.updated_at,
            REC.c.meeting_id,
            MEETING.c.held_on,
            MEETING.c.title.label("meeting_title"),
            BODY.c.id.label("body_id"),
            BODY.c.kind.label("body_kind"),
            BODY.c.name.label("body_name"),
        )
        .select_from(
            REC.join(MEETING, MEETING.c.id == REC.c.meeting_id).join(
                BODY, BODY.c.id == REC.c.body_id
            )
        )
        .where(*conditions(filters, today))
    )


def ordered(stmt: Select[Any], sort: RecommendationSort) -> Select[Any]:
    """Order list rows by `sort` (for exports, which are not paged)."""
    return stmt.order_by(*KEYSETS[sort].order_by())


def _responsible(session: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return found
    stmt = (
        select(
            RESPONSIBLE.c.recommendation_id,
            RESPONSIBLE.c.lead,
            INSTITUTION.c.id,
            INSTITUTION.c.name,
            INSTITUTION.c.abbreviation,
        )
        .join(INSTITUTION, INSTITUTION.c.id == RESPONSIBLE.c.institution_id)
        .where(RESPONSIBLE.c.recommendation_id.in_(ids))
        .order_by(
            RESPONSIBLE.c.recommendation_id,
            RESPONSIBLE.c.lead.desc(),
            RESPONSIBLE.c.position,
            INSTITUTION.c.id,
        )
    )
    for rec_id, lead, inst_id, name, abbreviation in session.execute(stmt):
        found[rec_id].append(
            {
                "institution": {"id": inst_id, "name": name, "abbreviation": abbreviation},
                "lead": bool(lead),
            }
        )
    return found


def _activities(session: Session, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    stmt = select(ACTIVITY.c.id, ACTIVITY.c.action_plan_id, ACTIVITY.c.code).where(
        ACTIVITY.c.id.in_(wanted)
    )
    return {
        a_id: {"id": a_id, "plan_id": plan_id, "code": code}
        for a_id, plan_id, code in session.execute(stmt)
    }


def build_items(session: Session, rows: Sequence[Row[Any]], today: date) -> list[dict[str, Any]]:
    """Turn list rows into wire items, with two more queries for the whole page."""
    responsible = _responsible(session, [row.id for row in rows])
    activities = _activities(session, (row.activity_id for row in rows))
    return [
        _item(
            row,
            today,
            responsible.get(row.id, []),
            activities.get(row.activity_id) if row.activity_id else None,
        )
        for row in rows
    ]


def _item(
    row: Any, today: date, responsible: list[dict[str, Any]], activity: dict[str, Any] | None
) -> dict[str, Any]:
    region = regions.region_ref(row.region_id)
    return {
        "id": row.id,
        "key": row.key,
        "text": row.text,
        "status": row.status,
        "due_on": row.due_on,
        "overdue": is_overdue(row.status, row.due_on, today),
        "version": row.version,
        "meeting": {
            "id": row.meeting_id,
            "held_on": row.held_on,
            "title": row.meeting_title,
            "body": {"id": row.body_id, "kind": row.body_kind, "name": row.body_name},
            "region": {"code": region.code, "name": region.name} if region else None,
        },
        "problem_id": row.problem_id,
        "responsible": responsible,
        "activity": activity,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


# --- one page in one statement -----------------------------------------------------------------

REVISION = TABLES["data_revision"]
PAGE_COLUMNS = [
    REC.c[name]
    for name in (
        "id",
        "key",
        "text",
        "status",
        "due_on",
        "version",
        "problem_id",
        "activity_id",
        "region_id",
        "created_at",
        "updated_at",
        "meeting_id",
        "body_id",
    )
]


@dataclass
class ListPage:
    """One page of the list: its items, the next page's cursor, and the data revision."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    revision: int


def page(
    session: Session,
    filters: Filters,
    sort: RecommendationSort,
    *,
    limit: int,
    cursor: str | None,
    today: date,
) -> ListPage:
    """Return one page of the list from one statement (one round trip), read with the data
    revision in the same snapshot, so the revision is exactly the data the page shows."""
    keyset = KEYSETS[sort]
    values = keyset.decode(cursor) if cursor else None
    stmt, parameters = page_statement(filters, today, keyset, values, limit)
    rows = session.execute(stmt, parameters).all()
    found, next_cursor = keyset.trim(
        _assemble(rows, today), limit, lambda found: sort_values(sort, found[0])
    )
    return ListPage([item for _, item in found], next_cursor, int(rows[0].revision))


def page_statement(
    filters: Filters, today: date, keyset: Keyset, values: list[Any] | None, limit: int
) -> tuple[Select[Any], dict[str, Any]]:
    """Return the page statement for these filters and cursor, and the parameters to run it.

    Building it costs more than running it (SQLAlchemy makes a proxy of every column of each
    subquery), so statements are kept by shape: the SQL the conditions make, which filters
    are set but not their values, and the kind of cursor. Each request binds its own values.
    """
    where = conditions(filters, today)
    shape, parameters = statement_shape(where)
    # A due-date filter passes no undated row: leave out the range that would look for one.
    nulls = filters.overdue is not True and filters.due_before is None and filters.due_after is None
    cursor_kind = None if values is None else values[0] is None
    key = (shape, keyset.name, cursor_kind, nulls)
    stmt = _page_statements.get(key, lambda: _page_statement(where, keyset, values, nulls))
    if values is not None:
        parameters.update(keyset.parameters(values))
    parameters["page_limit"] = limit + 1
    return stmt, parameters


def statement_shape(where: list[ColumnElement[bool]]) -> tuple[Hashable, dict[str, Any]]:
    """Return the shape of some conditions (their SQL, without the values of named parameters)
    and the values of those parameters. Unnamed parameters are constants of the code, such as
    the active statuses, and stay in the shape: a value left unnamed by mistake costs a cache
    entry, never a wrong result."""
    if not where:
        return (), {}
    cache_key = and_(*where)._generate_cache_key()
    assert cache_key is not None
    named = {p.key: p.value for p in cache_key.bindparams if not p.unique}
    constants = tuple(_hashable(p.value) for p in cache_key.bindparams if p.unique)
    return (cache_key.key, constants), named


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _page_statement(
    where: list[ColumnElement[bool]], keyset: Keyset, values: list[Any] | None, nulls: bool
) -> Select[Any]:
    """Select the data revision, then the page's rows after the cursor, each with its meeting,
    body, activity and one responsible institution per result row.

    The page's rows come from index ranges (Keyset.segments), so a page deep in a million
    rows costs what the first costs; everything else is joined to those few rows only.
    """
    page_limit = bindparam("page_limit", type_=Integer)
    base = select(*PAGE_COLUMNS).where(*where)
    ranges = [
        segment.limit(page_limit).subquery().select()
        for segment in keyset.segments(base, values, nulls=nulls)
    ]
    candidates = (ranges[0] if len(ranges) == 1 else union_all(*ranges)).subquery("candidates")
    page_rows = (
        select(candidates).order_by(*keyset.order_by(candidates)).limit(page_limit).subquery("page")
    )
    return (
        select(
            REVISION.c.value.label("revision"),
            *page_rows.c,
            MEETING.c.held_on,
            MEETING.c.title.label("meeting_title"),
            BODY.c.kind.label("body_kind"),
            BODY.c.name.label("body_name"),
            RESPONSIBLE.c.lead.label("responsible_lead"),
            INSTITUTION.c.id.label("institution_id"),
            INSTITUTION.c.name.label("institution_name"),
            INSTITUTION.c.abbreviation.label("institution_abbreviation"),
            ACTIVITY.c.action_plan_id.label("activity_plan_id"),
            ACTIVITY.c.code.label("activity_code"),
        )
        # The revision leads, so an empty page still returns its one row.
        .select_from(
            REVISION.outerjoin(page_rows, true())
            .outerjoin(MEETING, MEETING.c.id == page_rows.c.meeting_id)
            .outerjoin(BODY, BODY.c.id == page_rows.c.body_id)
            .outerjoin(RESPONSIBLE, RESPONSIBLE.c.recommendation_id == page_rows.c.id)
            .outerjoin(INSTITUTION, INSTITUTION.c.id == RESPONSIBLE.c.institution_id)
            .outerjoin(ACTIVITY, ACTIVITY.c.id == page_rows.c.activity_id)
        )
        .where(REVISION.c.id == 1)
        .order_by(
            *keyset.order_by(page_rows),
            RESPONSIBLE.c.lead.desc(),
            RESPONSIBLE.c.position,
            INSTITUTION.c.id,
        )
    )


_page_statements: LruCache[Select[Any]] = LruCache(512)


def _assemble(rows: Sequence[Row[Any]], today: date) -> list[tuple[Row[Any], dict[str, Any]]]:
    """Group the page statement's rows (one per responsible institution) into wire items, each
    with its first row (for the cursor)."""
    items: list[tuple[Row[Any], dict[str, Any]]] = []
    for row in rows:
        if row.id is None:
            continue  # the revision's row of an empty page
        if not items or items[-1][1]["id"] != row.id:
            activity = (
                {"id": row.activity_id, "plan_id": row.activity_plan_id, "code": row.activity_code}
                if row.activity_id is not None
                else None
            )
            items.append((row, _item(row, today, [], activity)))
        if row.institution_id is not None:
            items[-1][1]["responsible"].append(
                {
                    "institution": {
                        "id": row.institution_id,
                        "name": row.institution_name,
                        "abbreviation": row.institution_abbreviation,
                    },
                    "lead": bool(row.responsible_lead),
                }
            )
    return items


def read(session: Session, recommendation_id: int, *, today: date | None = None) -> dict[str, Any]:
    """Return one recommendation's wire item, or raise NotFound."""
    today = today or clock.today()
    row = session.execute(
        items_query(Filters(), today).where(REC.c.id == recommendation_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no recommendation {recommendation_id}")
    return build_items(session, [row], today)[0]


# --- one recommendation ------------------------------------------------------------------------


def get(session: Session, recommendation_id: int, *, for_update: bool = False) -> Recommendation:
    """Return a recommendation (locked for the transaction if `for_update`), or NotFound."""
    recommendation = session.get(Recommendation, recommendation_id, with_for_update=for_update)
    if recommendation is None:
        raise NotFound(f"there is no recommendation {recommendation_id}")
    return recommendation


def responsible_ids(session: Session, recommendation_id: int) -> list[int]:
    """Return the ids of the institutions responsible for a recommendation."""
    stmt = select(RESPONSIBLE.c.institution_id).where(
        RESPONSIBLE.c.recommendation_id == recommendation_id
    )
    return list(session.execute(stmt).scalars())


def find_activity(
    session: Session, region_id: int, plan_id: int, code: str
) -> tuple[int | None, str | None]:
    """Return (activity id, None) for `code` of plan `plan_id` in the region, else (None, why)."""
    plan_region = session.execute(
        select(PLAN.c.region_id).where(PLAN.c.id == plan_id)
    ).scalar_one_or_none()
    if plan_region is None:
        return None, f"there is no action plan {plan_id}"
    if plan_region != region_id:
        return None, (
            f"action plan {plan_id} is a plan of {regions.region_code(plan_region)}, "
            f"not of {regions.region_code(region_id)}"
        )
    activity_id = session.execute(
        select(ACTIVITY.c.id).where(ACTIVITY.c.action_plan_id == plan_id, ACTIVITY.c.code == code)
    ).scalar_one_or_none()
    if activity_id is None:
        # The code is the client's own reference, not stored free text.
        return None, f"action plan {plan_id} has no activity '{code}'"
    return activity_id, None


def update(
    session: Session, recommendation: Recommendation, data: RecommendationUpdate, *, actor: Actor
) -> Recommendation:
    """Apply a change document: a workflow step with its note, the due date, the activity link."""
    require_region_write(actor, recommendation.region_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid(
            [{"pointer": "", "detail": "send at least one of status, due_on, activity"}],
            title="Nothing to change",
        )
    to_status: str | None = data.status if "status" in changes else None
    if "note" in changes and to_status is None:
        raise Invalid(
            [{"pointer": "/note", "detail": "a note goes with a status change; send status too"}]
        )
    # Sending the current status again changes nothing, so a retried PATCH is harmless.
    if to_status == recommendation.status:
        to_status = None
    if to_status is not None:
        workflow.check_transition(recommendation.status, to_status, data.note)

    activity_id = recommendation.activity_id
    if "activity" in changes:
        activity_id = None
        if data.activity is not None:
            activity_id, why = find_activity(
                session, recommendation.region_id, data.activity.plan, data.activity.code
            )
            if why:
                raise Invalid([{"pointer": "/activity", "detail": why}], title="Invalid link")

    before = audit.snapshot(recommendation)
    fields_change = False
    if "due_on" in changes and data.due_on != recommendation.due_on:
        recommendation.due_on = data.due_on
        fields_change = True
    if activity_id != recommendation.activity_id:
        recommendation.activity_id = activity_id
        fields_change = True
    if to_status is not None:
        workflow.add_history(session, recommendation, to_status, actor=actor, note=data.note)
    if not fields_change and to_status is None:
        return recommendation
    recommendation.version += 1
    recommendation.updated_at = utcnow()
    session.add(recommendation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update" if fields_change else "status_change",
        entity="recommendation",
        entity_id=recommendation.id,
        before=before,
        after=audit.snapshot(recommendation),
    )
    return recommendation


def history_query(recommendation_id: int) -> Select[Any]:
    """Return the select of a recommendation's history entries, unordered."""
    return select(
        CHANGE.c.id,
        CHANGE.c.from_status,
        CHANGE.c.to_status,
        CHANGE.c.note,
        CHANGE.c.actor,
        CHANGE.c.at,
    ).where(CHANGE.c.recommendation_id == recommendation_id)


def history_item(row: Row[Any]) -> dict[str, Any]:
    """Return the wire form of one history entry."""
    return {
        "from_status": row.from_status,
        "to_status": row.to_status,
        "note": row.note,
        "actor": row.actor,
        "at": rfc3339(row.at),
    }
