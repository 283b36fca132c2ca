"""Follow-ups on recommendations: who may report, on what, and status changes through them."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent, FollowUp, Institution

from factories import make_body, make_institution, make_meeting, make_recommendation, make_token

URL = "/api/v1/recommendations"
REPORT = "U nënshkrua protokolli i bashkëpunimit ZVAP–DRSHSSH."


@dataclass
class World:
    rec_id: int
    zvap: int
    drshssh: int
    police: int
    zvap_token: dict[str, str]
    drshssh_token: dict[str, str]
    police_token: dict[str, str]
    secretariat: dict[str, str]
    other_secretariat: dict[str, str]
    reader: dict[str, str]


@pytest.fixture
def world(db: Session) -> World:
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
    police = make_institution(db, name="Drejtoria Vendore e Policisë Durrës")
    body = make_body(db, kind="technical_table", region="AL-02", name="Tryeza Teknike Durrës")
    meeting = make_meeting(db, body=body, held_on=date(2017, 10, 27))
    rec = make_recommendation(
        db, meeting=meeting, responsible=[(zvap, True), (drshssh, False)], due_on=date(2018, 3, 31)
    )
    world = World(
        rec_id=rec.id,
        zvap=zvap.id or 0,
        drshssh=drshssh.id or 0,
        police=police.id or 0,
        zvap_token=make_token(db, "institution", institution_id=zvap.id),
        drshssh_token=make_token(db, "institution", institution_id=drshssh.id),
        police_token=make_token(db, "institution", institution_id=police.id),
        secretariat=make_token(db, "secretariat", region="AL-02"),
        other_secretariat=make_token(db, "secretariat", region="AL-10"),
        reader=make_token(db, "reader"),
    )
    db.commit()
    return world


def _post(client: TestClient, world: World, headers: dict[str, str], **fields: object):  # type: ignore[no-untyped-def]
    payload = {"reported_on": "2018-02-15", "description": REPORT} | fields
    return client.post(f"{URL}/{world.rec_id}/follow-ups", json=payload, headers=headers)


def _status(client: TestClient, world: World) -> str:
    return client.get(f"{URL}/{world.rec_id}", headers=world.reader).json()["status"]  # type: ignore[no-any-return]


def test_a_responsible_institution_reports_for_itself(
    client: TestClient, db: Session, world: World
) -> None:
    response = _post(client, world, world.zvap_token)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (
        response.headers["location"]
        == f"/api/v1/recommendations/{world.rec_id}/follow-ups/{body['id']}"
    )
    assert body["institution"] == {
        "id": world.zvap,
        "name": "Zyra Vendore e Arsimit Parauniversitar Durrës",
        "abbreviation": "ZVAP",
    }
    assert body["recommendation_id"] == world.rec_id
    assert body["activity_id"] is None
    assert body["reported_on"] == "2018-02-15"
    assert body["description"] == REPORT
    assert body["new_status"] is None
    assert body["actor"].startswith("institution-")
    assert body["created_at"].endswith("Z")
    fetched = client.get(response.headers["location"], headers=world.reader)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert db.exec(select(AuditEvent).where(AuditEvent.entity == "follow_up")).one().action == (
        "create"
    )


def test_an_institution_may_name_itself_case_and_diacritic_insensitively(
    client: TestClient, world: World
) -> None:
    response = _post(client, world, world.drshssh_token, institution="drshssh")
    assert response.status_code == 201
    assert response.json()["institution"]["id"] == world.drshssh


def test_an_institution_may_not_report_for_another(client: TestClient, world: World) -> None:
    response = _post(client, world, world.zvap_token, institution="DRSHSSH")
    assert response.status_code == 403


def test_an_institution_not_responsible_may_not_report(
    client: TestClient, db: Session, world: World
) -> None:
    response = _post(client, world, world.police_token)
    assert response.status_code == 403
    assert db.exec(select(FollowUp)).all() == []


@pytest.mark.parametrize("who", ["reader", "other_secretariat"])
def test_readers_and_other_regions_secretariats_may_not_report(
    client: TestClient, world: World, who: str
) -> None:
    response = _post(client, world, getattr(world, who), institution="ZVAP")
    assert response.status_code == 403


def test_the_regions_secretariat_reports_naming_any_institution_of_the_region(
    client: TestClient, world: World
) -> None:
    response = _post(
        client, world, world.secretariat, institution="Drejtoria Vendore e Policise Durres"
    )
    assert response.status_code == 201
    assert response.json()["institution"]["id"] == world.police


def test_a_secretariat_or_admin_must_name_the_institution(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    for headers in (world.secretariat, admin):
        response = _post(client, world, headers)
        assert response.status_code == 422
        assert [e["pointer"] for e in response.json()["errors"]] == ["/institution"]


def test_an_unknown_institution_is_a_422_with_a_suggestion(
    client: TestClient, world: World
) -> None:
    response = _post(client, world, world.secretariat, institution="ZVAP Durres")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["pointer"] == "/institution"
    assert "Zyra Vendore e Arsimit Parauniversitar Durrës" in error["detail"]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"reported_on": (date.today() + timedelta(days=1)).isoformat()}, "/reported_on"),
        ({"reported_on": "2017-10-26"}, "/reported_on"),  # before the meeting
        ({"description": ""}, "/description"),
        ({"description": "x" * 4001}, "/description"),
        ({"status": "done"}, "/status"),
        ({"progress_value": 3}, "/progress_value"),
    ],
)
def test_a_bad_follow_up_is_a_422_with_its_pointer(
    client: TestClient, world: World, fields: dict[str, object], pointer: str
) -> None:
    response = _post(client, world, world.zvap_token, **fields)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_a_follow_up_may_move_the_status_and_the_description_is_the_note(
    client: TestClient, world: World
) -> None:
    started = _post(client, world, world.zvap_token, status="in_progress")
    assert started.status_code == 201
    assert started.json()["new_status"] == "in_progress"
    done = _post(client, world, world.drshssh_token, status="implemented", reported_on="2018-03-20")
    assert done.status_code == 201
    assert _status(client, world) == "implemented"
    rec = client.get(f"{URL}/{world.rec_id}", headers=world.reader).json()
    assert rec["version"] == 3
    history = client.get(f"{URL}/{world.rec_id}/history", headers=world.reader).json()["items"]
    assert [(h["from_status"], h["to_status"], h["note"]) for h in history] == [
        ("open", "in_progress", REPORT),
        ("in_progress", "implemented", REPORT),
    ]


def test_a_status_change_by_follow_up_obeys_the_workflow(
    client: TestClient, db: Session, world: World
) -> None:
    response = _post(client, world, world.zvap_token, status="implemented")
    assert response.status_code == 409
    assert response.json()["allowed"] == ["in_progress", "withdrawn"]
    assert _status(client, world) == "open"
    assert db.exec(select(FollowUp)).all() == []  # all or nothing


def test_reporting_the_current_status_is_news_not_a_change(
    client: TestClient, world: World
) -> None:
    response = _post(client, world, world.zvap_token, status="open")
    assert response.status_code == 201
    assert response.json()["new_status"] is None
    assert client.get(f"{URL}/{world.rec_id}", headers=world.reader).json()["version"] == 1


def test_follow_ups_are_listed_newest_report_first_in_pages(
    client: TestClient, world: World
) -> None:
    for day in ("2018-01-10", "2018-03-01", "2018-02-01", "2018-03-01"):
        assert _post(client, world, world.zvap_token, reported_on=day).status_code == 201
    first = client.get(
        f"{URL}/{world.rec_id}/follow-ups", params={"limit": 3}, headers=world.zvap_token
    )
    assert first.status_code == 200
    page = first.json()
    assert page["total"] == 4
    rest = client.get(
        f"{URL}/{world.rec_id}/follow-ups",
        params={"cursor": page["next_cursor"]},
        headers=world.reader,
    ).json()
    items = page["items"] + rest["items"]
    assert [i["reported_on"] for i in items] == [
        "2018-03-01",
        "2018-03-01",
        "2018-02-01",
        "2018-01-10",
    ]
    assert items[0]["id"] > items[1]["id"]  # same day: the later report first
    etag = first.headers["etag"]
    again = client.get(
        f"{URL}/{world.rec_id}/follow-ups",
        params={"limit": 3},
        headers={**world.reader, "If-None-Match": etag},
    )
    assert again.status_code == 304


def test_follow_ups_of_an_unknown_recommendation_are_a_404(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    assert client.get(f"{URL}/999999/follow-ups", headers=admin).status_code == 404
    response = client.post(
        f"{URL}/999999/follow-ups",
        json={"reported_on": "2018-02-15", "description": REPORT, "institution": "ZVAP"},
        headers=admin,
    )
    assert response.status_code == 404


def test_an_institution_token_can_do_nothing_else(
    client: TestClient, db: Session, world: World
) -> None:
    headers = world.zvap_token
    patch = client.patch(f"{URL}/{world.rec_id}", json={"status": "in_progress"}, headers=headers)
    assert patch.status_code == 403
    institution = client.patch(
        f"/api/v1/institutions/{world.zvap}", json={"abbreviation": "ZVAP Durrës"}, headers=headers
    )
    assert institution.status_code == 403
    created = client.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Shijak", "kind": "municipality", "region": "AL-02"},
        headers=headers,
    )
    assert created.status_code == 403
    assert db.get(Institution, world.zvap).abbreviation == "ZVAP"  # type: ignore[union-attr]
    # Reading stays open to it.
    assert client.get(f"{URL}/{world.rec_id}", headers=headers).status_code == 200
