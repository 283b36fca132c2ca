"""Changing a recommendation: the status workflow, notes, If-Match, due dates, activity links."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent, Institution, Meeting, RecommendationStatusChange
from app.recommendations.workflow import ALLOWED

from factories import (
    make_body,
    make_institution,
    make_meeting,
    make_plan_activity,
    make_recommendation,
    make_token,
)

URL = "/api/v1/recommendations"
STATUSES = list(ALLOWED)
LEGAL = [(a, b) for a, targets in ALLOWED.items() for b in targets]
ILLEGAL = [(a, b) for a in STATUSES for b in STATUSES if a != b and b not in ALLOWED[a]]


@dataclass
class World:
    meeting: Meeting
    zvap: int
    secretariat: dict[str, str]
    other_secretariat: dict[str, str]
    institution: dict[str, str]
    reader: dict[str, str]


@pytest.fixture
def world(db: Session) -> World:
    zvap = make_institution(
        db, name="Zyra Vendore e Arsimit Parauniversitar Durrës", abbreviation="ZVAP"
    )
    body = make_body(db, kind="technical_table", region="AL-02", name="Tryeza Teknike Durrës")
    meeting = make_meeting(db, body=body, held_on=date(2017, 10, 27))
    world = World(
        meeting=meeting,
        zvap=zvap.id or 0,
        secretariat=make_token(db, "secretariat", region="AL-02"),
        other_secretariat=make_token(db, "secretariat", region="AL-10"),
        institution=make_token(db, "institution", institution_id=zvap.id),
        reader=make_token(db, "reader"),
    )
    db.commit()
    return world


def _rec(db: Session, world: World, status: str = "open", **overrides: Any) -> int:
    zvap = db.get(Institution, world.zvap)
    rec = make_recommendation(
        db, meeting=world.meeting, status=status, responsible=[(zvap, True)], **overrides
    )
    db.commit()
    return rec.id  # type: ignore[no-any-return]


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_each_allowed_transition_changes_status_and_records_history(
    client: TestClient, db: Session, world: World, source: str, target: str
) -> None:
    rec_id = _rec(db, world, source)
    response = client.patch(
        f"{URL}/{rec_id}",
        json={"status": target, "note": "U diskutua në mbledhjen e Tryezës."},
        headers=world.secretariat,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == target
    assert body["version"] == 2
    assert response.headers["etag"] == '"v2"'
    history = client.get(f"{URL}/{rec_id}/history", headers=world.reader).json()
    assert [(h["from_status"], h["to_status"]) for h in history["items"]] == [(source, target)]


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_each_forbidden_transition_is_a_409_listing_the_allowed_ones(
    client: TestClient, db: Session, world: World, source: str, target: str
) -> None:
    rec_id = _rec(db, world, source)
    response = client.patch(
        f"{URL}/{rec_id}", json={"status": target, "note": "Arsyeja."}, headers=world.secretariat
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["allowed"] == list(ALLOWED[source])
    assert problem["current_status"] == source
    assert client.get(f"{URL}/{rec_id}", headers=world.reader).json()["status"] == source


def test_open_to_in_progress_needs_no_note(client: TestClient, db: Session, world: World) -> None:
    rec_id = _rec(db, world)
    response = client.patch(
        f"{URL}/{rec_id}", json={"status": "in_progress"}, headers=world.secretariat
    )
    assert response.status_code == 200
    entry = client.get(f"{URL}/{rec_id}/history", headers=world.reader).json()["items"][0]
    assert entry["note"] is None


@pytest.mark.parametrize(
    ("source", "target", "note"),
    [
        ("in_progress", "implemented", None),
        ("open", "withdrawn", None),
        ("implemented", "in_progress", None),
        ("in_progress", "not_implemented", "   "),
    ],
)
def test_every_other_change_needs_a_note(
    client: TestClient, db: Session, world: World, source: str, target: str, note: str | None
) -> None:
    rec_id = _rec(db, world, source)
    payload = {"status": target} if note is None else {"status": target, "note": note}
    response = client.patch(f"{URL}/{rec_id}", json=payload, headers=world.secretariat)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/note"]


def test_sending_the_current_status_again_changes_nothing(
    client: TestClient, db: Session, world: World
) -> None:
    rec_id = _rec(db, world, "in_progress")
    response = client.patch(
        f"{URL}/{rec_id}", json={"status": "in_progress", "note": "x"}, headers=world.secretariat
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert client.get(f"{URL}/{rec_id}/history", headers=world.reader).json()["total"] == 0


@pytest.mark.parametrize(
    ("payload", "pointer"),
    [
        ({}, ""),
        ({"note": "Pa status."}, "/note"),
        ({"status": None}, "/status"),
        ({"status": "done"}, "/status"),
        ({"id": 5}, "/id"),
        ({"version": 3}, "/version"),
        ({"key": "r9"}, "/key"),
        ({"text": "Tjetër tekst."}, "/text"),
        ({"due_on": "31.03.2018"}, "/due_on"),
        ({"activity": {"plan": 1}}, "/activity/code"),
        ({"note": "x" * 4001, "status": "withdrawn"}, "/note"),
    ],
)
def test_a_bad_change_document_is_a_422_with_its_pointer(
    client: TestClient, db: Session, world: World, payload: dict[str, object], pointer: str
) -> None:
    rec_id = _rec(db, world)
    response = client.patch(f"{URL}/{rec_id}", json=payload, headers=world.secretariat)
    assert response.status_code == 422
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


def test_if_match_with_a_stale_etag_is_a_412_and_with_the_current_one_succeeds(
    client: TestClient, db: Session, world: World
) -> None:
    rec_id = _rec(db, world)
    etag = client.get(f"{URL}/{rec_id}", headers=world.reader).headers["etag"]
    first = client.patch(
        f"{URL}/{rec_id}",
        json={"status": "in_progress"},
        headers={**world.secretariat, "If-Match": etag},
    )
    assert first.status_code == 200
    stale = client.patch(
        f"{URL}/{rec_id}",
        json={"status": "withdrawn", "note": "Nuk është më e nevojshme."},
        headers={**world.secretariat, "If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"v2"'
    current = client.patch(
        f"{URL}/{rec_id}",
        json={"status": "withdrawn", "note": "Nuk është më e nevojshme."},
        headers={**world.secretariat, "If-Match": first.headers["etag"]},
    )
    assert current.status_code == 200
    assert current.json()["status"] == "withdrawn"


def test_history_lists_every_change_oldest_first_with_who_and_why(
    client: TestClient, db: Session, world: World
) -> None:
    rec_id = _rec(db, world)
    steps = [
        ("in_progress", None),
        ("partially_implemented", "Mekanizmi u ngrit vetëm në Durrës."),
        ("in_progress", "Rihapet për Shijakun."),
        ("implemented", "U shtri edhe në Shijak."),
    ]
    for status, note in steps:
        payload = {"status": status} | ({"note": note} if note else {})
        assert client.patch(f"{URL}/{rec_id}", json=payload, headers=world.secretariat).is_success
    response = client.get(f"{URL}/{rec_id}/history", params={"limit": 3}, headers=world.reader)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 4
    rest = client.get(
        f"{URL}/{rec_id}/history", params={"cursor": page["next_cursor"]}, headers=world.reader
    ).json()
    items = page["items"] + rest["items"]
    assert [(i["from_status"], i["to_status"], i["note"]) for i in items] == [
        ("open", "in_progress", None),
        ("in_progress", "partially_implemented", steps[1][1]),
        ("partially_implemented", "in_progress", steps[2][1]),
        ("in_progress", "implemented", steps[3][1]),
    ]
    assert set(items[0]) == {"from_status", "to_status", "note", "actor", "at"}
    assert items[0]["actor"].startswith("secretariat-AL-02")
    assert items[0]["at"].endswith("Z")
    assert client.get(f"{URL}/999999/history", headers=world.reader).status_code == 404


def test_a_status_change_is_audited(client: TestClient, db: Session, world: World) -> None:
    rec_id = _rec(db, world)
    client.patch(f"{URL}/{rec_id}", json={"status": "in_progress"}, headers=world.secretariat)
    events = db.exec(
        select(AuditEvent).where(
            AuditEvent.entity == "recommendation", AuditEvent.entity_id == rec_id
        )
    ).all()
    assert [e.action for e in events] == ["status_change"]
    assert events[0].before["status"] == "open"  # type: ignore[index]
    assert events[0].after["status"] == "in_progress"  # type: ignore[index]


def test_changing_the_due_date_bumps_the_version_and_is_audited_without_history(
    client: TestClient, db: Session, world: World
) -> None:
    rec_id = _rec(db, world, due_on=date.today() - timedelta(days=3))
    assert client.get(f"{URL}/{rec_id}", headers=world.reader).json()["overdue"] is True
    later = (date.today() + timedelta(days=60)).isoformat()
    response = client.patch(f"{URL}/{rec_id}", json={"due_on": later}, headers=world.secretariat)
    assert response.status_code == 200
    body = response.json()
    assert (body["due_on"], body["overdue"], body["version"]) == (later, False, 2)
    cleared = client.patch(f"{URL}/{rec_id}", json={"due_on": None}, headers=world.secretariat)
    assert cleared.json()["due_on"] is None
    assert cleared.json()["version"] == 3
    db.expire_all()
    actions = db.exec(
        select(AuditEvent.action).where(
            AuditEvent.entity == "recommendation", AuditEvent.entity_id == rec_id
        )
    ).all()
    assert actions == ["update", "update"]
    changes = db.exec(
        select(RecommendationStatusChange).where(
            RecommendationStatusChange.recommendation_id == rec_id
        )
    ).all()
    assert changes == []


def test_a_status_and_due_date_change_together_bump_the_version_once(
    client: TestClient, db: Session, world: World
) -> None:
    rec_id = _rec(db, world)
    response = client.patch(
        f"{URL}/{rec_id}",
        json={"status": "in_progress", "due_on": "2030-01-31"},
        headers=world.secretariat,
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("in_progress", 2)


def test_an_activity_of_a_plan_of_the_same_region_can_be_linked_and_unlinked(
    client: TestClient, db: Session, world: World
) -> None:
    activity = make_plan_activity(db, region="AL-02", code="1.2")
    db.commit()
    rec_id = _rec(db, world)
    response = client.patch(
        f"{URL}/{rec_id}",
        json={"activity": {"plan": activity.action_plan_id, "code": "1.2"}},
        headers=world.secretariat,
    )
    assert response.status_code == 200
    assert response.json()["activity"] == {
        "id": activity.id,
        "plan_id": activity.action_plan_id,
        "code": "1.2",
    }
    unlinked = client.patch(f"{URL}/{rec_id}", json={"activity": None}, headers=world.secretariat)
    assert unlinked.status_code == 200
    assert unlinked.json()["activity"] is None
    assert unlinked.json()["version"] == 3


@pytest.mark.parametrize("case", ["other region", "unknown plan", "unknown code"])
def test_a_bad_activity_link_is_a_422_at_activity(
    client: TestClient, db: Session, world: World, case: str
) -> None:
    shkoder = make_plan_activity(db, region="AL-10", code="1.1")
    durres = make_plan_activity(db, region="AL-02", code="1.1")
    db.commit()
    link = {
        "other region": {"plan": shkoder.action_plan_id, "code": "1.1"},
        "unknown plan": {"plan": 999999, "code": "1.1"},
        "unknown code": {"plan": durres.action_plan_id, "code": "9.9"},
    }[case]
    rec_id = _rec(db, world)
    response = client.patch(f"{URL}/{rec_id}", json={"activity": link}, headers=world.secretariat)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/activity"]
    assert client.get(f"{URL}/{rec_id}", headers=world.reader).json()["activity"] is None


@pytest.mark.parametrize("who", ["other_secretariat", "institution", "reader"])
def test_only_admins_and_the_regions_secretariat_may_change_a_recommendation(
    client: TestClient, db: Session, world: World, admin: dict[str, str], who: str
) -> None:
    rec_id = _rec(db, world)
    response = client.patch(
        f"{URL}/{rec_id}", json={"status": "in_progress"}, headers=getattr(world, who)
    )
    assert response.status_code == 403
    assert client.get(f"{URL}/{rec_id}", headers=world.reader).json()["status"] == "open"
    ok = client.patch(f"{URL}/{rec_id}", json={"status": "in_progress"}, headers=admin)
    assert ok.status_code == 200


def test_changing_an_unknown_recommendation_is_a_404(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    response = client.patch(f"{URL}/999999", json={"status": "in_progress"}, headers=admin)
    assert response.status_code == 404
