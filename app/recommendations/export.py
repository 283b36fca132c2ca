"""The recommendations list as a CSV or XLSX download, streamed from server-side cursors.

Rows are read with their own session (the request's session may be closed while the response
streams), in chunks, so memory stays flat in the row count. A download's rows come straight
from one join per index range; the CLI's JSON export builds the same items as a JSON page.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, BinaryIO

from sqlmodel import Session

from app.db import get_engine
from app.exports import (
    ExportFormat,
    Lang,
    Sheet,
    csv_chunks,
    csv_response,
    xlsx_chunks,
    xlsx_response,
)
from app.models import RecommendationStatus
from app.recommendations import service as recommendations
from app.recommendations.schemas import RecommendationSort
from app.regions import service as regions
from app.responses import dumps
from app.vocabulary import label

CHUNK = 500
CHUNK_ROWS = 2000  # streamed result rows fetched at a time

HEADERS: dict[Lang, list[str]] = {
    Lang.en: [
        "id",
        "key",
        "region_code",
        "region",
        "body",
        "meeting_date",
        "meeting_title",
        "status",
        "due_on",
        "overdue",
        "responsible",
        "lead_institution",
        "problem_id",
        "activity_code",
        "text",
        "created_at",
    ],
    Lang.sq: [
        "ID",
        "Kodi në procesverbal",
        "Kodi i qarkut",
        "Qarku",
        "Struktura",
        "Data e mbledhjes",
        "Titulli i mbledhjes",
        "Statusi",
        "Afati",
        "Me vonesë",
        "Institucionet përgjegjëse",
        "Institucioni drejtues",
        "ID e problemit",
        "Kodi i aktivitetit",
        "Rekomandimi",
        "Krijuar më",
    ],
}
WIDTHS = [8, 10, 8, 12, 30, 12, 40, 18, 12, 10, 60, 40, 10, 10, 80, 20]

# In Albanian the overdue column reads as a yes/no answer to "Me vonesë?" (late?).
YES_NO_SQ = {True: "Po", False: "Jo"}


def items(
    filters: recommendations.Filters, sort: RecommendationSort, today: date
) -> Iterator[dict[str, Any]]:
    """Yield every recommendation matching `filters` as a list item, in `sort` order."""
    with Session(get_engine()) as session:
        stmt = recommendations.ordered(recommendations.items_query(filters, today), sort)
        result = session.execute(stmt.execution_options(yield_per=CHUNK))
        for chunk in result.partitions():
            yield from recommendations.build_items(session, chunk, today)


def rows(
    filters: recommendations.Filters, sort: RecommendationSort, lang: Lang, today: date
) -> Iterator[list[Any]]:
    """Yield the export rows of every recommendation matching `filters`, in `sort` order.

    Straight from streamed result rows, one per responsible institution, with no list items
    in between: a download walks every row, so each row's cost is multiplied a million times.
    """
    status_label = {
        status.value: label(RecommendationStatus, status, lang) for status in RecommendationStatus
    }
    yes_no = YES_NO_SQ if lang == Lang.sq else {True: True, False: False}
    current: list[Any] | None = None
    names: list[str] = []
    for row in _joined_rows(filters, sort, today):
        if current is None or current[0] != row.id:
            if current is not None:
                yield _finish(current, names)
            region = regions.region_ref(row.region_id)
            current = [
                row.id,
                row.key,
                region.code if region else None,
                region.name if region else None,
                row.body_name,
                row.held_on,
                row.meeting_title,
                status_label[row.status],
                row.due_on,
                yes_no[recommendations.is_overdue(row.status, row.due_on, today)],
                None,  # responsible: filled in by _finish
                None,  # lead institution: the first lead
                row.problem_id,
                row.activity_code,
                row.text,
                _utc(row.created_at),
            ]
            names = []
        if row.institution_name is not None:
            names.append(row.institution_name)
            if row.responsible_lead and current[11] is None:
                current[11] = row.institution_name
    if current is not None:
        yield _finish(current, names)


def _finish(row: list[Any], names: list[str]) -> list[Any]:
    row[10] = "; ".join(names)
    return row


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they are stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_RESPONSIBLE = recommendations.RESPONSIBLE.alias("export_responsible")
_INSTITUTION = recommendations.INSTITUTION.alias("export_institution")


def _joined_rows(
    filters: recommendations.Filters, sort: RecommendationSort, today: date
) -> Iterator[Any]:
    """Stream the filtered recommendations joined to their responsible institutions, in `sort`
    order: one server-side cursor per index range (Keyset.segments), so neither engine sorts."""
    rec, activity = recommendations.REC, recommendations.ACTIVITY
    stmt = (
        recommendations.items_query(filters, today)
        .add_columns(
            _RESPONSIBLE.c.lead.label("responsible_lead"),
            _INSTITUTION.c.name.label("institution_name"),
            activity.c.code.label("activity_code"),
        )
        # Aliases: the institution filter's EXISTS must not correlate to these joins.
        .outerjoin(_RESPONSIBLE, _RESPONSIBLE.c.recommendation_id == rec.c.id)
        .outerjoin(_INSTITUTION, _INSTITUTION.c.id == _RESPONSIBLE.c.institution_id)
        .outerjoin(activity, activity.c.id == rec.c.activity_id)
    )
    with Session(get_engine()) as session:
        for segment in recommendations.KEYSETS[sort].segments(stmt, None):
            ordered = segment.order_by(
                _RESPONSIBLE.c.lead.desc(), _RESPONSIBLE.c.position, _INSTITUTION.c.id
            )
            yield from session.execute(ordered.execution_options(yield_per=CHUNK_ROWS))


def write(
    format: ExportFormat,
    filters: recommendations.Filters,
    sort: RecommendationSort,
    lang: Lang,
    today: date,
    stream: BinaryIO,
    *,
    progress: Callable[[], None] = lambda: None,
) -> None:
    """Write every matching recommendation to a binary stream as JSON, CSV or XLSX (the CLI);
    `progress` is called once per recommendation."""
    if format == ExportFormat.json:
        stream.write(b"[")
        for index, item in enumerate(items(filters, sort, today)):
            stream.write((b",\n" if index else b"\n") + dumps(item))
            progress()
        stream.write(b"\n]\n")
        return
    table = _counted(rows(filters, sort, lang, today), progress)
    if format == ExportFormat.csv:
        for chunk in csv_chunks(HEADERS[lang], table):
            stream.write(chunk)
        return
    for chunk in xlsx_chunks([Sheet(_sheet_title(lang), HEADERS[lang], table, WIDTHS)]):
        stream.write(chunk)


def _counted(rows: Iterable[list[Any]], progress: Callable[[], None]) -> Iterator[list[Any]]:
    for row in rows:
        progress()
        yield row


def _sheet_title(lang: Lang) -> str:
    return "Rekomandimet" if lang == Lang.sq else "Recommendations"


def response(
    format: ExportFormat,
    filters: recommendations.Filters,
    sort: RecommendationSort,
    lang: Lang,
    today: date,
) -> Any:
    """Return the streamed download of the filtered list in `format` (csv or xlsx)."""
    filename = f"recommendations-{today.isoformat()}"
    header = HEADERS[lang]
    body = rows(filters, sort, lang, today)
    if format == ExportFormat.csv:
        return csv_response(filename, header, body)
    return xlsx_response(filename, [Sheet(_sheet_title(lang), header, body, WIDTHS)])
