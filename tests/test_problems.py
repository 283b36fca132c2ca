"""The problems raised at meetings: listing with filters, reading, correcting."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent, Institution

from factories import make_body, make_durres_table, make_token, minutes_document

URL = "/api/v1/problems"


@pytest.fixture
def durres(db: Session) -> dict[str, Institution]:
    found = make_durres_table(db)
    db.commit()
    return found


@pytest.fixture
def minutes(client: TestClient, admin: dict[str, str], durres: dict[str, Institution]) -> Any:
    document = minutes_document()
    document["problems"].append(
        {
            "key": "p2",
            "raised_by": "DVP",
            "theme": "coordination",
            "title": "Mungesa e koordinimit në nivel vendor",
        }
    )
    response = client.post("/api/v1/meetings", json=document, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def ids(client: TestClient, admin: dict[str, str], **params: Any) -> list[int]:
    response = client.get(URL, params=params, headers=admin)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_list_filters_problems(
    client: TestClient,
    admin: dict[str, str],
    minutes: Any,
    durres: dict[str, Institution],
    db: Session,
) -> None:
    p1, p2 = (p["id"] for p in minutes["problems"])
    other = make_body(db, region="AL-10", kind="committee", name="Komiteti Shkodër")
    db.commit()
    document = minutes_document(
        external_ref="SH-1",
        body={"id": other.id},
        new_institutions=[],
        attendees=[],
        chair=None,
        recommendations=[],
    )
    document["problems"][0]["raised_by"] = None
    shkoder = client.post("/api/v1/meetings", json=document, headers=admin)
    assert shkoder.status_code == 201, shkoder.text
    p3 = shkoder.json()["problems"][0]["id"]

    assert sorted(ids(client, admin)) == sorted([p1, p2, p3])
    assert ids(client, admin, region="AL-02") == [p2, p1]
    assert ids(client, admin, body=other.id) == [p3]
    assert ids(client, admin, meeting=minutes["id"]) == [p2, p1]
    assert ids(client, admin, theme="coordination") == [p2]
    assert ids(client, admin, raised_by=durres["zvap"].id) == [p1]
    assert ids(client, admin, q="KOORDINIMIT") == [p2]
    assert ids(client, admin, q="nxenesve") == [p3, p1]
    page = client.get(URL, params={"limit": 1}, headers=admin).json()
    assert page["total"] == 3 and page["next_cursor"]


def test_get_problem_shows_its_meeting(
    client: TestClient, admin: dict[str, str], minutes: Any
) -> None:
    problem_id = minutes["problems"][0]["id"]
    response = client.get(f"{URL}/{problem_id}", headers=admin)
    assert response.status_code == 200
    problem = response.json()
    assert response.headers["ETag"] == '"v1"'
    assert problem["key"] == "p1" and problem["theme"] == "school_dropout"
    assert problem["meeting"]["id"] == minutes["id"]
    assert problem["meeting"]["region"] == {"code": "AL-02", "name": "Durrës"}
    assert problem["meeting"]["body"]["name"] == "Tryeza Teknike Durrës"
    assert problem["raised_by"]["abbreviation"] == "ZVAP"
    assert problem["withdrawn"] is False
    assert client.get(f"{URL}/999", headers=admin).status_code == 404


def test_patch_corrects_a_problem_and_is_audited(
    client: TestClient, admin: dict[str, str], minutes: Any, db: Session
) -> None:
    problem_id = minutes["problems"][0]["id"]
    response = client.patch(
        f"{URL}/{problem_id}",
        json={"theme": "child_protection", "raised_by": "Bashkia Durres", "title": "Braktisja"},
        headers={**admin, "If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text
    problem = response.json()
    assert problem["theme"] == "child_protection"
    assert problem["raised_by"]["name"] == "Bashkia Durrës"
    assert problem["title"] == "Braktisja" and problem["version"] == 2
    assert response.headers["ETag"] == '"v2"'
    assert ids(client, admin, q="braktisja") == [problem_id]
    cleared = client.patch(f"{URL}/{problem_id}", json={"raised_by": None}, headers=admin)
    assert cleared.json()["raised_by"] is None
    events = db.exec(
        select(AuditEvent).where(AuditEvent.entity == "problem", AuditEvent.entity_id == problem_id)
    ).all()
    assert len(events) == 2
    assert events[0].before["theme"] == "school_dropout"
    assert events[0].after["theme"] == "child_protection"


def test_patch_problem_errors(client: TestClient, admin: dict[str, str], minutes: Any) -> None:
    problem_id = minutes["problems"][0]["id"]
    stale = client.patch(
        f"{URL}/{problem_id}", json={"theme": "funding"}, headers={**admin, "If-Match": '"v7"'}
    )
    assert stale.status_code == 412
    bad = client.patch(
        f"{URL}/{problem_id}",
        json={"raised_by": "Bashkia Shkoder", "theme": None, "colour": "red"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/colour"}
    unknown = client.patch(
        f"{URL}/{problem_id}", json={"raised_by": "Bashkia Shkoder", "theme": None}, headers=admin
    )
    assert unknown.status_code == 422
    errors = {e["pointer"]: e["detail"] for e in unknown.json()["errors"]}
    assert set(errors) == {"/raised_by", "/theme"}
    assert "unknown institution 'Bashkia Shkoder' in AL-02" in errors["/raised_by"]


def test_patch_problem_respects_region(client: TestClient, minutes: Any, db: Session) -> None:
    shkoder = make_token(db, "secretariat", region="AL-10")
    durres = make_token(db, "secretariat", region="AL-02")
    reader = make_token(db, "reader")
    db.commit()
    problem_id = minutes["problems"][0]["id"]
    change = {"theme": "awareness"}
    assert client.patch(f"{URL}/{problem_id}", json=change, headers=shkoder).status_code == 403
    assert client.patch(f"{URL}/{problem_id}", json=change, headers=reader).status_code == 403
    assert client.get(f"{URL}/{problem_id}", headers=reader).json()["theme"] == "school_dropout"
    assert client.patch(f"{URL}/{problem_id}", json=change, headers=durres).status_code == 200
