"""Streaming CSV and XLSX writers: formats only, no queries.

Rows arrive as an iterator (normally a server-side cursor) and leave in chunks, so memory does
not grow with the row count. CSV streams from the first row. XLSX is a zip archive whose
directory comes last; XlsxWriter's constant-memory mode writes each row to a temporary file,
which is then streamed out and removed.
"""

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import xlsxwriter
from starlette.responses import StreamingResponse


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Lang(StrEnum):
    en = "en"
    sq = "sq"


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK_ROWS = 500
_READ_BYTES = 64 * 1024


@dataclass
class Sheet:
    """One worksheet: a title, a header row, the rows, and optional column widths."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = field(default_factory=list)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """Yield a UTF-8 CSV document, header first, a few hundred rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow(["" if value is None else _csv_value(value) for value in row])
        pending += 1
        if pending >= _CHUNK_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime) and value.tzinfo is not None:
        # RFC 3339 in UTC, as the JSON API writes timestamps.
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def write_xlsx(path: str, sheets: Iterable[Sheet]) -> None:
    """Write `sheets` to an XLSX file at `path`, row by row, with frozen bold header rows."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "remove_timezone": True})
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.title[:31])
        for column, width in enumerate(sheet.widths):
            worksheet.set_column(column, column, width)
        worksheet.freeze_panes(1, 0)
        worksheet.write_row(0, 0, list(sheet.header), bold)
        for row_number, row in enumerate(sheet.rows, start=1):
            for column, value in enumerate(row):
                cell_format = datetime_format if isinstance(value, datetime) else date_format
                _write_cell(worksheet, row_number, column, value, cell_format)
    workbook.close()


def _write_cell(worksheet: Any, row: int, column: int, value: Any, date_format: Any) -> None:
    if value is None:
        return
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: write the UTC wall time (the API's timestamps are UTC).
        worksheet.write_datetime(row, column, value.astimezone(UTC), date_format)
    elif isinstance(value, datetime | date):
        worksheet.write_datetime(row, column, value, date_format)
    elif isinstance(value, bool):
        worksheet.write_boolean(row, column, value)
    elif isinstance(value, int | float):
        worksheet.write_number(row, column, value)
    else:
        worksheet.write_string(row, column, str(value))


def xlsx_chunks(sheets: Iterable[Sheet]) -> Iterator[bytes]:
    """Yield an XLSX document built in a temporary file, which is removed afterwards."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, sheets)
        with open(path, "rb") as stream:
            while chunk := stream.read(_READ_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    """Stream a CSV download."""
    return StreamingResponse(
        csv_chunks(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def xlsx_response(filename: str, sheets: Iterable[Sheet]) -> Any:
    """Stream an XLSX download."""
    return StreamingResponse(
        xlsx_chunks(sheets),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )
