"""CSV and XLSX exports of the recommendations list: same rows as JSON, Albanian headers/labels."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.exports import XLSX_MEDIA_TYPE
from app.recommendations import export

from factories import (
    make_body,
    make_institution,
    make_meeting,
    make_plan_activity,
    make_recommendation,
)

URL = "/api/v1/recommendations"
TODAY = date.today()

EN_HEADER = [
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
]
SQ_HEADER = [
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
]
SQ_STATUS = {
    "open": "E hapur",
    "in_progress": "Në zbatim",
    "implemented": "E zbatuar",
    "partially_implemented": "Pjesërisht e zbatuar",
    "not_implemented": "E pazbatuar",
    "withdrawn": "E tërhequr",
}


@pytest.fixture
def seeded(db: Session) -> None:
    zvap = make_institution(
        db,
        name="Zyra Vendore e Arsimit Parauniversitar Durrës",
        abbreviation="ZVAP",
        kind="education",
    )
    drshssh = make_institution(
        db,
        name="Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
        abbreviation="DRSHSSH",
        kind="social_service",
    )
    caritas = make_institution(db, name="Caritas Shqiptar", kind="ngo", region="AL-10")
    tt = make_body(db, kind="technical_table", region="AL-02", name="Tryeza Teknike Durrës")
    krat = make_body(
        db, kind="committee", region="AL-10", name="Komiteti Rajonal Antitrafik Shkodër"
    )
    m1 = make_meeting(db, body=tt, held_on=date(2017, 10, 27))
    m2 = make_meeting(db, body=krat, held_on=date(2017, 10, 20), title="Punëtori në Shkodër")
    activity = make_plan_activity(db, region="AL-02", code="1.2")
    day = timedelta(days=1)
    rows: list[tuple[Any, str, str, date | None, list[Any]]] = [
        (
            m1,
            "Ngritja e një mekanizmi të përbashkët ZVAP–DRSHSSH për ndjekjen e nxënësve "
            "që braktisin shkollën.",
            "open",
            TODAY - 30 * day,
            [(drshssh, False), (zvap, True)],
        ),
        (
            m1,
            'Fuqizimi i strukturave të monitorimit, "shkolla"; rreshti 2\nvazhdon.',
            "in_progress",
            TODAY + 30 * day,
            [(zvap, True)],
        ),
        (
            m1,
            "Koordinimi i punës në nivel vendor.",
            "implemented",
            TODAY - 3 * day,
            [(drshssh, True)],
        ),
        (
            m2,
            "Draftimi i Planit 2-vjeçar të Veprimit, qarku Shkodër.",
            "open",
            None,
            [(caritas, True)],
        ),
        (m2, "Trajnimi i punonjësve të policisë.", "withdrawn", TODAY - 100 * day, []),
    ]
    for index, (meeting, text, status, due_on, responsible) in enumerate(rows):
        make_recommendation(
            db,
            meeting=meeting,
            key=f"r{index + 1}",
            text=text,
            status=status,
            due_on=due_on,
            responsible=responsible,
            created_at=datetime(2017, 11, 1 + index, 9, 12, 3, tzinfo=UTC),
            activity_id=activity.id if index == 1 else None,
        )
    db.commit()


def _json_items(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(URL, params={"limit": 200, **params}, headers=admin)
    assert response.status_code == 200
    return response.json()["items"]  # type: ignore[no-any-return]


def _csv(client: TestClient, admin: dict[str, str], **params: Any) -> list[list[str]]:
    response = client.get(URL, params={"format": "csv", **params}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="recommendations-{TODAY.isoformat()}.csv"'
    )
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def _expected_row(item: dict[str, Any], lang: str) -> list[str]:
    names = [r["institution"]["name"] for r in item["responsible"]]
    lead = next((r["institution"]["name"] for r in item["responsible"] if r["lead"]), "")
    overdue = ("Po" if item["overdue"] else "Jo") if lang == "sq" else str(item["overdue"]).lower()
    return [
        str(item["id"]),
        item["key"],
        item["meeting"]["region"]["code"],
        item["meeting"]["region"]["name"],
        item["meeting"]["body"]["name"],
        item["meeting"]["held_on"],
        item["meeting"]["title"],
        SQ_STATUS[item["status"]] if lang == "sq" else item["status"],
        item["due_on"] or "",
        overdue,
        "; ".join(names),
        lead,
        "" if item["problem_id"] is None else str(item["problem_id"]),
        item["activity"]["code"] if item["activity"] else "",
        item["text"],
        item["created_at"],
    ]


@pytest.mark.parametrize("lang", ["en", "sq"])
def test_csv_has_one_row_per_recommendation_matching_the_json_list(
    client: TestClient, admin: dict[str, str], seeded: None, lang: str
) -> None:
    rows = _csv(client, admin, lang=lang)
    assert rows[0] == (SQ_HEADER if lang == "sq" else EN_HEADER)
    items = _json_items(client, admin)
    assert rows[1:] == [_expected_row(item, lang) for item in items]
    # Lead first, and the overdue flag of the one overdue recommendation.
    first = next(row for row in rows[1:] if row[1] == "r1")
    assert first[10] == (
        "Zyra Vendore e Arsimit Parauniversitar Durrës; "
        "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës"
    )
    assert first[9] == ("Po" if lang == "sq" else "true")


def test_csv_applies_the_same_filters_and_sort_and_ignores_paging(
    client: TestClient, admin: dict[str, str], seeded: None
) -> None:
    params = {"status": ["open", "in_progress"], "region": "AL-02", "sort": "-due_on"}
    items = _json_items(client, admin, **params)
    assert [i["key"] for i in items] == ["r2", "r1"]
    rows = _csv(client, admin, lang="sq", limit=1, **params)
    assert [row[0] for row in rows[1:]] == [str(i["id"]) for i in items]
    assert _csv(client, admin, q="shkoder")[1][1] == "r4"
    assert len(_csv(client, admin, overdue="true")) == 2


@pytest.mark.parametrize("sort", ["due_on", "-due_on", "created_at", "-created_at"])
def test_csv_rows_are_fetched_in_chunks_without_mixing_responsible_institutions(
    client: TestClient,
    admin: dict[str, str],
    seeded: None,
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
) -> None:
    # Fetches of 2 result rows: a recommendation's institutions straddle the fetches.
    monkeypatch.setattr(export, "CHUNK_ROWS", 2)
    rows = _csv(client, admin, sort=sort)
    items = _json_items(client, admin, sort=sort)
    assert any(item["due_on"] is None for item in items), "undated rows come last"
    assert rows[1:] == [_expected_row(item, "en") for item in items]


def test_csv_by_responsible_institution_lists_all_of_each_ones_institutions(
    client: TestClient, admin: dict[str, str], seeded: None
) -> None:
    items = _json_items(client, admin)
    shared = next(item for item in items if len(item["responsible"]) > 1)
    second = shared["responsible"][1]["institution"]["id"]
    rows = _csv(client, admin, institution=second)
    expected = _json_items(client, admin, institution=second)
    assert shared["id"] in {item["id"] for item in expected}
    # The filter picks recommendations; each row still names every responsible institution.
    assert rows[1:] == [_expected_row(item, "en") for item in expected]


def test_xlsx_has_albanian_headers_labels_and_typed_cells(
    client: TestClient, admin: dict[str, str], seeded: None
) -> None:
    response = client.get(URL, params={"format": "xlsx", "lang": "sq"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].endswith(
        f'recommendations-{TODAY.isoformat()}.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = workbook["Rekomandimet"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    assert rows[0] == SQ_HEADER
    items = _json_items(client, admin)
    assert len(rows) == len(items) + 1
    for row, item in zip(rows[1:], items, strict=True):
        expected = _expected_row(item, "sq")
        assert row[0] == item["id"]
        assert row[1:5] == expected[1:5]
        assert row[5].date().isoformat() == item["meeting"]["held_on"]
        assert row[7] == SQ_STATUS[item["status"]]
        assert (row[8].date().isoformat() if row[8] else "") == expected[8]
        assert row[9] == ("Po" if item["overdue"] else "Jo")
        assert (row[10] or "") == expected[10]
        assert (row[13] or "") == expected[13]
        assert row[14] == item["text"]
        created = row[15].replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        assert created == item["created_at"]


def test_xlsx_in_english_with_a_filter(
    client: TestClient, admin: dict[str, str], seeded: None
) -> None:
    response = client.get(URL, params={"format": "xlsx", "region": "AL-10"}, headers=admin)
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = [list(row) for row in workbook["Recommendations"].iter_rows(values_only=True)]
    workbook.close()
    assert rows[0] == EN_HEADER
    assert [(r[1], r[7], r[9]) for r in rows[1:]] == [
        ("r5", "withdrawn", False),
        ("r4", "open", False),
    ]


def test_an_empty_export_has_the_header_only(
    client: TestClient, admin: dict[str, str], seeded: None
) -> None:
    assert _csv(client, admin, region="AL-05") == [EN_HEADER]


@pytest.mark.parametrize(("name", "value"), [("format", "pdf"), ("lang", "fr")])
def test_unknown_format_or_language_is_a_422(
    client: TestClient, admin: dict[str, str], seeded: None, name: str, value: str
) -> None:
    response = client.get(URL, params={"format": "csv", name: value}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == name


def test_exports_need_a_token(client: TestClient, seeded: None) -> None:
    assert client.get(URL, params={"format": "csv"}).status_code == 401


def test_the_openapi_schema_documents_both_download_types(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    content = schema["paths"][URL]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", XLSX_MEDIA_TYPE} <= set(content)
