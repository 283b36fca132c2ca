"""A progress report as CSV rows and XLSX sheets, in English or Albanian.

The figures are those of the JSON report, cell for cell: one row per activity, and in XLSX a
summary sheet with the roll-ups. Rows are produced by generators, and a plan's activity count is
bounded by the plan document's limits, so an export's memory does not grow with its history.
"""

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from app.exports import ExportFormat, Lang, Sheet, csv_chunks, xlsx_chunks
from app.models import ActivityStatus, Pillar, RecommendationStatus
from app.responses import dumps
from app.vocabulary import DELAYED_SQ, label

ACTIVITY_COLUMNS: list[tuple[str, str, int]] = [
    # (English header, Albanian header, XLSX column width)
    ("id", "ID", 8),
    ("code", "Kodi", 8),
    ("objective", "Objektivi", 10),
    ("pillar", "Shtylla", 22),
    ("title", "Aktiviteti", 60),
    ("status", "Statusi", 14),
    ("delayed", "Me vonesë", 11),
    ("deadline", "Afati", 12),
    ("target", "Synimi", 10),
    ("unit", "Njësia", 14),
    ("progress_value", "Vlera e arritur", 15),
    ("percent", "Përqindja", 11),
    ("last_follow_up_on", "Ndjekja e fundit", 16),
    ("lead", "Institucioni drejtues", 40),
    ("responsible", "Institucionet përgjegjëse", 60),
    ("recommendations", "Rekomandimet", 36),
]

SUMMARY_COLUMNS: list[tuple[str, str, int]] = [
    ("level", "Niveli", 12),
    ("code", "Kodi", 8),
    ("name", "Emri", 60),
    ("activities", "Aktivitete", 11),
    ("lead_activities", "Si drejtues", 12),
    ("not_started", "Pa filluar", 11),
    ("in_progress", "Në proces", 11),
    ("completed", "E përfunduar", 13),
    ("cancelled", "E anuluar", 11),
    ("delayed", "Me vonesë", 11),
    ("percent", "Përqindja", 11),
    ("elapsed_percent", "Koha e kaluar (%)", 17),
    ("as_of", "Më datë", 12),
]

LEVELS = {
    "plan": ("plan", "Plani"),
    "pillar": ("pillar", "Shtylla"),
    "objective": ("objective", "Objektivi"),
    "institution": ("institution", "Institucioni"),
}
ON_TIME_SQ = "Në afat"
OVERDUE = {"en": "overdue", "sq": "pas afatit"}
SHEET_TITLES = {"activities": ("Activities", "Aktivitetet"), "summary": ("Summary", "Përmbledhje")}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[1] if lang == Lang.sq else pair[0]


def activity_header(lang: Lang) -> list[str]:
    """Return the activity columns' headers in `lang`."""
    return [_pick((en, sq), lang) for en, sq, _ in ACTIVITY_COLUMNS]


def summary_header(lang: Lang) -> list[str]:
    """Return the summary columns' headers in `lang`."""
    return [_pick((en, sq), lang) for en, sq, _ in SUMMARY_COLUMNS]


def delayed_cell(delayed: bool, lang: Lang) -> Any:
    """Return how a delayed flag is shown: true/false in English, a word in Albanian."""
    if lang == Lang.sq:
        return DELAYED_SQ if delayed else ON_TIME_SQ
    return delayed


def recommendations_cell(items: list[dict[str, Any]], lang: Lang) -> str:
    """Return linked recommendations as `41 open (overdue); 42 implemented`."""
    parts = []
    for item in items:
        text = f"{item['id']} {label(RecommendationStatus, item['status'], lang)}"
        if item["overdue"]:
            text += f" ({OVERDUE[lang]})"
        parts.append(text)
    return "; ".join(parts)


def activity_rows(report: dict[str, Any], lang: Lang) -> Iterator[list[Any]]:
    """Yield one row per activity with the JSON report's figures."""
    for row in report["activities"]:
        lead = next((r["institution"]["name"] for r in row["responsible"] if r["lead"]), None)
        yield [
            row["id"],
            row["code"],
            row["objective"],
            label(Pillar, row["pillar"], lang),
            row["title"],
            label(ActivityStatus, row["status"], lang),
            delayed_cell(row["delayed"], lang),
            row["deadline"],
            row["target"],
            row["unit"],
            row["progress_value"],
            row["percent"],
            row["last_follow_up_on"],
            lead,
            "; ".join(r["institution"]["name"] for r in row["responsible"]),
            recommendations_cell(row["recommendations"], lang),
        ]


def _tally_cells(tally: dict[str, Any]) -> list[Any]:
    return [
        tally["activities"],
        tally.get("lead_activities"),
        tally["not_started"],
        tally["in_progress"],
        tally["completed"],
        tally["cancelled"],
        tally["delayed"],
        tally["percent"],
        tally.get("elapsed_percent"),
    ]


def summary_rows(report: dict[str, Any], lang: Lang) -> Iterator[list[Any]]:
    """Yield the roll-ups: the plan (with the as_of date), then each pillar, objective and
    institution."""
    yield [
        _pick(LEVELS["plan"], lang),
        None,
        report["plan"]["title"],
        *_tally_cells(report["overall"]),
        report["as_of"],
    ]
    for item in report["by_pillar"]:
        name = label(Pillar, item["pillar"], lang)
        yield [_pick(LEVELS["pillar"], lang), None, name, *_tally_cells(item)]
    for item in report["by_objective"]:
        yield [_pick(LEVELS["objective"], lang), item["code"], item["title"], *_tally_cells(item)]
    for item in report["by_institution"]:
        name = item["institution"]["name"]
        yield [_pick(LEVELS["institution"], lang), None, name, *_tally_cells(item)]


def sheets(report: dict[str, Any], lang: Lang) -> list[Sheet]:
    """Return the XLSX sheets of a report: the activities, then the summary."""
    return [
        Sheet(
            title=_pick(SHEET_TITLES["activities"], lang),
            header=activity_header(lang),
            rows=activity_rows(report, lang),
            widths=[width for *_, width in ACTIVITY_COLUMNS],
        ),
        Sheet(
            title=_pick(SHEET_TITLES["summary"], lang),
            header=summary_header(lang),
            rows=summary_rows(report, lang),
            widths=[width for *_, width in SUMMARY_COLUMNS],
        ),
    ]


def filename(report: dict[str, Any]) -> str:
    """Return the download's file name (without extension): plan id and as_of date."""
    return f"progress-plan-{report['plan']['id']}-{report['as_of'].isoformat()}"


def write(
    report: dict[str, Any],
    export_format: ExportFormat,
    lang: Lang,
    out: BinaryIO,
    *,
    track: Callable[[Iterator[list[Any]], int], Iterator[list[Any]]] = lambda rows, _n: rows,
) -> None:
    """Write a report to a binary stream as JSON, CSV or XLSX (for the CLI).

    `track(rows, count)` wraps the activity rows, e.g. in a progress bar.
    """
    count = len(report["activities"])
    if export_format == ExportFormat.json:
        out.write(dumps(report) + b"\n")
    elif export_format == ExportFormat.csv:
        for chunk in csv_chunks(activity_header(lang), track(activity_rows(report, lang), count)):
            out.write(chunk)
    else:
        workbook = sheets(report, lang)
        workbook[0].rows = track(activity_rows(report, lang), count)
        for chunk in xlsx_chunks(workbook):
            out.write(chunk)
