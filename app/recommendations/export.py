"""The recommendations list as a CSV or XLSX download, streamed from a server-side cursor.

Rows are read in chunks of `CHUNK` with their own session (the request's session may be closed
while the response streams); each chunk gets its responsible institutions and activity codes in
one query each, exactly as a JSON page does, so memory stays flat in the row count and the
figures match the JSON list.
"""

from collections.abc import Iterable, Iterator
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
from app.responses import dumps
from app.vocabulary import label

CHUNK = 500

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


def to_row(item: dict[str, Any], lang: Lang) -> list[Any]:
    """Return one export row for a list item."""
    meeting = item["meeting"]
    names = [r["institution"]["name"] for r in item["responsible"]]
    lead = next((r["institution"]["name"] for r in item["responsible"] if r["lead"]), None)
    created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")).astimezone(UTC)
    return [
        item["id"],
        item["key"],
        meeting["region"]["code"],
        meeting["region"]["name"],
        meeting["body"]["name"],
        meeting["held_on"],
        meeting["title"],
        label(RecommendationStatus, item["status"], lang),
        item["due_on"],
        YES_NO_SQ[item["overdue"]] if lang == Lang.sq else item["overdue"],
        "; ".join(names),
        lead,
        item["problem_id"],
        item["activity"]["code"] if item["activity"] else None,
        item["text"],
        created,
    ]


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
    """Yield the export rows of every recommendation matching `filters`, in `sort` order."""
    for item in items(filters, sort, today):
        yield to_row(item, lang)


def write(
    items: Iterable[dict[str, Any]], format: ExportFormat, lang: Lang, stream: BinaryIO
) -> None:
    """Write list items to a binary stream as a JSON array, CSV or XLSX (for the CLI)."""
    if format == ExportFormat.json:
        stream.write(b"[")
        for index, item in enumerate(items):
            stream.write((b",\n" if index else b"\n") + dumps(item))
        stream.write(b"\n]\n")
        return
    rows = (to_row(item, lang) for item in items)
    if format == ExportFormat.csv:
        for chunk in csv_chunks(HEADERS[lang], rows):
            stream.write(chunk)
        return
    for chunk in xlsx_chunks([Sheet(_sheet_title(lang), HEADERS[lang], rows, WIDTHS)]):
        stream.write(chunk)


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
