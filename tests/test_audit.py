"""The audit log: every write leaves who, what, which entity, before, after and request id."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from factories import make_body, make_institution, make_token

ACTOR = "sekretariati-durres"


@pytest.fixture
def clerk(db: Session) -> dict[str, str]:
    """Headers of Durrës's secretariat token."""
    headers = make_token(db, "secretariat", region="AL-02", name=ACTOR)
    db.commit()
    return headers


def _events(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit-events", params=params, headers=admin)
    assert response.status_code == 200
    return response.json()["items"]


def _with_id(headers: dict[str, str], request_id: str) -> dict[str, str]:
    return {**headers, "X-Request-ID": request_id}


def test_every_foundation_write_is_audited_with_actor_and_request_id(
    client: TestClient, admin: dict[str, str], clerk: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Durrës", "kind": "municipality", "region": "AL-02"},
        headers=_with_id(clerk, "req-inst-create"),
    ).json()
    client.patch(
        f"/api/v1/institutions/{created['id']}",
        json={"abbreviation": "BD"},
        headers=_with_id(clerk, "req-inst-patch"),
    )
    body = client.post(
        "/api/v1/bodies",
        json={"kind": "committee", "region": "AL-02", "name": "KRAT Durrës"},
        headers=_with_id(clerk, "req-body-create"),
    ).json()
    client.patch(
        f"/api/v1/bodies/{body['id']}",
        json={"name": "Komiteti Rajonal Antitrafik Durrës"},
        headers=_with_id(clerk, "req-body-patch"),
    )
    members = client.put(
        f"/api/v1/bodies/{body['id']}/members",
        json=[{"institution": "bashkia durres", "role": "member"}],
        headers=_with_id(clerk, "req-members"),
    )
    assert members.status_code == 200

    events = list(reversed(_events(client, admin)))  # newest first → oldest first

    assert [(e["action"], e["entity"], e["entity_id"], e["request_id"]) for e in events] == [
        ("create", "institution", created["id"], "req-inst-create"),
        ("update", "institution", created["id"], "req-inst-patch"),
        ("create", "body", body["id"], "req-body-create"),
        ("update", "body", body["id"], "req-body-patch"),
        ("replace_members", "body", body["id"], "req-members"),
    ]
    assert {e["actor"] for e in events} == {ACTOR}
    assert all(e["at"] for e in events)

    create, patch, body_create, body_patch, replace = events
    assert create["before"] is None
    assert create["after"]["name"] == "Bashkia Durrës"
    assert "name_folded" not in create["after"]
    assert patch["before"]["abbreviation"] is None
    assert patch["after"]["abbreviation"] == "BD"
    assert (patch["before"]["version"], patch["after"]["version"]) == (1, 2)
    assert body_create["after"]["name"] == "KRAT Durrës"
    assert body_patch["before"]["name"] == "KRAT Durrës"
    assert body_patch["after"]["name"] == "Komiteti Rajonal Antitrafik Durrës"
    assert replace["before"] == {"members": []}
    [seat] = replace["after"]["members"]
    assert (seat["institution_id"], seat["role"]) == (created["id"], "member")


def test_rejected_writes_leave_no_audit_event(
    client: TestClient, db: Session, admin: dict[str, str], clerk: dict[str, str]
) -> None:
    body = make_body(db, kind="committee", region="AL-02")
    shkoder = make_institution(db, name="Bashkia Shkodër", kind="municipality", region="AL-10")
    db.commit()

    assert (
        client.put(
            f"/api/v1/bodies/{body.id}/members", json=[{"institution": "nowhere"}], headers=clerk
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"/api/v1/institutions/{shkoder.id}", json={"active": False}, headers=clerk
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/bodies/{body.id}", json={"name": "X"}, headers={**clerk, "If-Match": '"v9"'}
        ).status_code
        == 412
    )

    assert _events(client, admin) == []


def test_audit_events_filter_by_entity_and_id(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    first = make_institution(db, name="Bashkia Durrës", kind="municipality")
    second = make_institution(db, name="Bashkia Shijak", kind="municipality")
    body = make_body(db, kind="committee", region="AL-02")
    db.commit()
    for institution in (first, second):
        client.patch(
            f"/api/v1/institutions/{institution.id}", json={"active": False}, headers=admin
        )
    client.patch(f"/api/v1/bodies/{body.id}", json={"name": "KRAT Durrës"}, headers=admin)

    institutions = _events(client, admin, entity="institution")
    assert {e["entity_id"] for e in institutions} == {first.id, second.id}
    one = _events(client, admin, entity="institution", entity_id=second.id)
    assert [(e["entity"], e["entity_id"]) for e in one] == [("institution", second.id)]
    assert [e["entity"] for e in _events(client, admin, entity="body")] == ["body"]
    assert {e["actor"] for e in _events(client, admin)} == {"admin-token"}


@pytest.mark.parametrize("role", ["secretariat", "institution", "reader"])
def test_only_admins_read_the_audit_log(client: TestClient, db: Session, role: str) -> None:
    headers = make_token(db, role, region="AL-02" if role == "secretariat" else None)
    db.commit()

    response = client.get("/api/v1/audit-events", headers=headers)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/audit-events").status_code == 401
