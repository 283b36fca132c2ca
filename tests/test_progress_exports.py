"""Progress as CSV and XLSX (read back cell by cell against the JSON), in en and sq, and the CLI."""

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import app as cli

from factories import make_body, make_meeting, make_plan_institutions, make_recommendation

PLANS = "/api/v1/action-plans"
runner = CliRunner()

STATUS_SQ = {
    "not_started": "Pa filluar",
    "in_progress": "Në proces",
    "completed": "E përfunduar",
    "cancelled": "E anuluar",
}
PILLAR_SQ = {
    "prevention": "Parandalimi",
    "protection": "Mbrojtja dhe asistenca",
    "prosecution": "Ndjekja penale",
    "partnership": "Partneriteti dhe bashkëpunimi",
}
REC_SQ = {"open": "E hapur", "in_progress": "Në zbatim"}
HEADER_EN = [
    "id", "code", "objective", "pillar", "title", "status", "delayed", "deadline", "target",
    "unit", "progress_value", "percent", "last_follow_up_on", "lead", "responsible",
    "recommendations",
]  # fmt: skip
HEADER_SQ = [
    "ID", "Kodi", "Objektivi", "Shtylla", "Aktiviteti", "Statusi", "Me vonesë", "Afati",
    "Synimi", "Njësia", "Vlera e arritur", "Përqindja", "Ndjekja e fundit",
    "Institucioni drejtues", "Institucionet përgjegjëse", "Rekomandimet",
]  # fmt: skip
SUMMARY_EN = [
    "level", "code", "name", "activities", "lead_activities", "not_started", "in_progress",
    "completed", "cancelled", "delayed", "percent", "elapsed_percent", "as_of",
]  # fmt: skip


@pytest.fixture
def plan_id(client: TestClient, admin: dict[str, str], db: Session) -> int:
    """A plan with progress: 1.1 at 300/400 in progress, 2.1 completed, a linked overdue R."""
    from factories import plan_document

    make_plan_institutions(db)
    db.commit()
    created = client.post(PLANS, json=plan_document(), headers=admin).json()
    ids = {a["code"]: a["id"] for o in created["objectives"] for a in o["activities"]}
    reports = [
        ("1.1", "DRSHSSH", {"progress_value": 300, "status": "in_progress"}),
        ("2.1", "DVP", {"progress_value": 50, "status": "completed"}),
    ]
    for code, institution, fields in reports:
        response = client.post(
            f"/api/v1/activities/{ids[code]}/follow-ups",
            json={
                "reported_on": "2018-10-06",
                "institution": institution,
                "description": "Raport.",
                **fields,
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
    meeting = make_meeting(db, body=make_body(db, region="AL-10"))
    make_recommendation(db, meeting=meeting, due_on=date(2018, 10, 31), activity_id=ids["1.1"])
    db.commit()
    return int(created["id"])


def _json(client: TestClient, headers: dict[str, str], plan_id: int) -> dict[str, Any]:
    response = client.get(f"{PLANS}/{plan_id}/progress?as_of=2018-12-31", headers=headers)
    assert response.status_code == 200
    return response.json()


def _expected_cells(activity: dict[str, Any], lang: str) -> list[Any]:
    """The activity row as the contract describes it, from the JSON report."""
    sq = lang == "sq"
    lead = [r["institution"]["name"] for r in activity["responsible"] if r["lead"]]
    recommendations = "; ".join(
        f"{r['id']} {REC_SQ[r['status']] if sq else r['status']}"
        + ((" (pas afatit)" if sq else " (overdue)") if r["overdue"] else "")
        for r in activity["recommendations"]
    )
    if sq:
        delayed: Any = "Me vonesë" if activity["delayed"] else "Në afat"
    else:
        delayed = activity["delayed"]
    return [
        activity["id"],
        activity["code"],
        activity["objective"],
        PILLAR_SQ[activity["pillar"]] if sq else activity["pillar"],
        activity["title"],
        STATUS_SQ[activity["status"]] if sq else activity["status"],
        delayed,
        activity["deadline"],
        activity["target"],
        activity["unit"],
        activity["progress_value"],
        activity["percent"],
        activity["last_follow_up_on"],
        lead[0] if lead else None,
        "; ".join(r["institution"]["name"] for r in activity["responsible"]),
        recommendations,
    ]


def _as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_xlsx(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_csv_has_one_row_per_activity_with_the_json_figures(
    client: TestClient, admin: dict[str, str], plan_id: int, lang: str
) -> None:
    report = _json(client, admin, plan_id)
    response = client.get(
        f"{PLANS}/{plan_id}/progress?as_of=2018-12-31&format=csv&lang={lang}", headers=admin
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        f'filename="progress-plan-{plan_id}-2018-12-31.csv"'
        in response.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == (HEADER_SQ if lang == "sq" else HEADER_EN)
    assert len(rows) == 1 + len(report["activities"]) == 5
    for row, activity in zip(rows[1:], report["activities"], strict=True):
        assert row == [_as_csv(v) for v in _expected_cells(activity, lang)]


def test_csv_in_albanian_uses_the_vocabulary_labels(
    client: TestClient, admin: dict[str, str], plan_id: int
) -> None:
    response = client.get(
        f"{PLANS}/{plan_id}/progress?as_of=2018-12-31&format=csv&lang=sq", headers=admin
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    first = rows[0]
    assert (first["Kodi"], first["Shtylla"], first["Statusi"], first["Me vonesë"]) == (
        "1.1",
        "Parandalimi",
        "Në proces",
        "Në afat",
    )
    assert first["Rekomandimet"].endswith(" E hapur (pas afatit)")
    assert rows[3]["Me vonesë"] == "Me vonesë"  # 2.2: not started, deadline 2018-09-30 passed
    assert rows[2]["Shtylla"] == "Mbrojtja dhe asistenca"


def _summary_expected(report: dict[str, Any], lang: str) -> list[list[Any]]:
    sq = lang == "sq"
    levels = (
        ("Plani", "Shtylla", "Objektivi", "Institucioni")
        if sq
        else ("plan", "pillar", "objective", "institution")
    )

    def tally(item: dict[str, Any]) -> list[Any]:
        return [
            item["activities"],
            item.get("lead_activities"),
            item["not_started"],
            item["in_progress"],
            item["completed"],
            item["cancelled"],
            item["delayed"],
            item["percent"],
            item.get("elapsed_percent"),
        ]

    # Only the plan row has an as_of cell; openpyxl pads the others with None.

    rows = [[levels[0], None, report["plan"]["title"], *tally(report["overall"]), report["as_of"]]]
    for item in report["by_pillar"]:
        name = PILLAR_SQ[item["pillar"]] if sq else item["pillar"]
        rows.append([levels[1], None, name, *tally(item), None])
    for item in report["by_objective"]:
        rows.append([levels[2], item["code"], item["title"], *tally(item), None])
    for item in report["by_institution"]:
        rows.append([levels[3], None, item["institution"]["name"], *tally(item), None])
    return rows


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_xlsx_has_activities_and_summary_sheets_with_the_json_figures(
    client: TestClient, admin: dict[str, str], plan_id: int, lang: str, tmp_path: Path
) -> None:
    report = _json(client, admin, plan_id)
    response = client.get(
        f"{PLANS}/{plan_id}/progress?as_of=2018-12-31&format=xlsx&lang={lang}", headers=admin
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    path = tmp_path / "progress.xlsx"
    path.write_bytes(response.content)
    _check_workbook(path, report, lang)


def _check_workbook(path: Path, report: dict[str, Any], lang: str) -> None:
    workbook = load_workbook(path)
    sq = lang == "sq"
    assert workbook.sheetnames == (
        ["Aktivitetet", "Përmbledhje"] if sq else ["Activities", "Summary"]
    )
    activities, summary = workbook.worksheets
    rows = [[_from_xlsx(c) for c in row] for row in activities.iter_rows(values_only=True)]
    assert rows[0] == (HEADER_SQ if sq else HEADER_EN)
    assert len(rows) == 1 + len(report["activities"])
    for row, activity in zip(rows[1:], report["activities"], strict=True):
        assert row == _expected_cells(activity, lang)
    summary_rows = [[_from_xlsx(c) for c in row] for row in summary.iter_rows(values_only=True)]
    if not sq:
        assert summary_rows[0] == SUMMARY_EN
    assert summary_rows[1:] == _summary_expected(report, lang)
    for sheet in (activities, summary):
        assert sheet.freeze_panes == "A2"
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(width and width >= 8 for width in widths), widths
    assert activities.column_dimensions["E"].width >= 60  # the title column


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_writes_json_like_the_api(
    client: TestClient, admin: dict[str, str], plan_id: int, tmp_path: Path
) -> None:
    out = tmp_path / "progress.json"
    result = runner.invoke(
        cli,
        ["export", "progress", "--plan", str(plan_id), "--as-of", "2018-12-31",
         "--format", "json", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == _json(client, admin, plan_id)


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_cli_writes_csv_like_the_api(
    client: TestClient, admin: dict[str, str], plan_id: int, tmp_path: Path, lang: str
) -> None:
    out = tmp_path / "progress.csv"
    result = runner.invoke(
        cli,
        ["export", "progress", "--plan", str(plan_id), "--as-of", "2018-12-31",
         "--format", "csv", "--lang", lang, "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    api = client.get(
        f"{PLANS}/{plan_id}/progress?as_of=2018-12-31&format=csv&lang={lang}", headers=admin
    )
    assert out.read_bytes() == api.content


def test_cli_writes_xlsx_with_the_json_figures(
    client: TestClient, admin: dict[str, str], plan_id: int, tmp_path: Path
) -> None:
    out = tmp_path / "progress.xlsx"
    result = runner.invoke(
        cli,
        ["export", "progress", "--plan", str(plan_id), "--as-of", "2018-12-31",
         "--format", "xlsx", "--lang", "sq", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _check_workbook(out, _json(client, admin, plan_id), "sq")


def test_cli_reports_an_unknown_plan(configured: str, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    result = runner.invoke(cli, ["export", "progress", "--plan", "77", "--out", str(out)])
    assert result.exit_code == 1
    assert "there is no action plan 77" in result.stderr
    assert not out.exists()
