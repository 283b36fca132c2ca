"""Bodies: one of each kind per region, Technical Tables under their KRAT, member lists."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.bodies import service as bodies_service

from factories import make_body, make_institution

PREFECTURE = "Prefektura e Qarkut Durrës"
MUNICIPALITY = "Bashkia Durrës"
POLICE = "Drejtoria Vendore e Policisë Durrës"


@pytest.fixture
def committee_id(db: Session) -> int:
    committee = make_body(
        db, kind="committee", region="AL-02", name="Komiteti Rajonal Antitrafik Durrës"
    )
    make_institution(db, name=PREFECTURE, kind="prefecture")
    make_institution(db, name=MUNICIPALITY, kind="municipality")
    make_institution(db, name=POLICE, abbreviation="DVP", kind="police")
    db.commit()
    return committee.id or 0


def test_technical_table_is_created_under_its_committee(
    client: TestClient, admin: dict[str, str], committee_id: int
) -> None:
    response = client.post(
        "/api/v1/bodies",
        json={
            "kind": "technical_table",
            "region": "AL-02",
            "name": "Tryeza Teknike Durrës",
            "parent_id": committee_id,
        },
        headers=admin,
    )

    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/api/v1/bodies/{created['id']}"
    assert created["parent_id"] == committee_id
    assert created["name"] == "Tryeza Teknike Durrës"
    assert client.get(response.headers["location"], headers=admin).json() == created


def test_a_second_body_of_a_kind_in_a_region_is_a_409_with_the_existing_id(
    client: TestClient, admin: dict[str, str], committee_id: int
) -> None:
    response = client.post(
        "/api/v1/bodies",
        json={"kind": "committee", "region": "AL-02", "name": "KRAT Durrës"},
        headers=admin,
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["existing_id"] == committee_id
    listed = client.get("/api/v1/bodies", params={"region": "AL-02"}, headers=admin).json()
    assert listed["total"] == 1


@pytest.mark.parametrize("parent", ["another region's committee", "no body"])
def test_table_parent_must_be_the_same_regions_committee(
    client: TestClient, db: Session, admin: dict[str, str], committee_id: int, parent: str
) -> None:
    make_body(db, kind="committee", region="AL-10")
    db.commit()
    parent_id = committee_id if parent == "another region's committee" else 99999

    response = client.post(
        "/api/v1/bodies",
        json={
            "kind": "technical_table",
            "region": "AL-10",
            "name": "Tryeza Teknike Shkodër",
            "parent_id": parent_id,
        },
        headers=admin,
    )

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/parent_id"]
    tables = client.get("/api/v1/bodies", params={"kind": "technical_table"}, headers=admin)
    assert tables.json()["total"] == 0


@pytest.mark.parametrize("parent", ["itself", "its technical table"])
def test_a_committee_cannot_be_put_under_a_body_of_its_region(
    client: TestClient, db: Session, admin: dict[str, str], committee_id: int, parent: str
) -> None:
    table = make_body(db, kind="technical_table", region="AL-02", parent_id=committee_id)
    db.commit()
    parent_id = committee_id if parent == "itself" else table.id

    response = client.patch(
        f"/api/v1/bodies/{committee_id}", json={"parent_id": parent_id}, headers=admin
    )

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/parent_id"]
    assert client.get(f"/api/v1/bodies/{committee_id}", headers=admin).json()["parent_id"] is None


def test_list_filters_by_region_and_kind(
    client: TestClient, db: Session, admin: dict[str, str], committee_id: int
) -> None:
    make_body(db, kind="technical_table", region="AL-02", parent_id=committee_id)
    make_body(db, kind="committee", region="AL-10")
    db.commit()

    def kinds(**params: str) -> list[tuple[str, str]]:
        response = client.get("/api/v1/bodies", params=params, headers=admin)
        assert response.status_code == 200
        return [(b["region"], b["kind"]) for b in response.json()["items"]]

    assert kinds(region="AL-02") == [("AL-02", "committee"), ("AL-02", "technical_table")]
    assert kinds(kind="committee") == [("AL-02", "committee"), ("AL-10", "committee")]
    assert kinds(region="AL-10", kind="technical_table") == []


def _members(client: TestClient, admin: dict[str, str], body_id: int) -> list[tuple[str, str]]:
    response = client.get(f"/api/v1/bodies/{body_id}/members", headers=admin)
    assert response.status_code == 200
    return [(m["institution"]["name"], m["role"]) for m in response.json()["items"]]


def test_put_members_replaces_the_whole_list_in_order(
    client: TestClient, admin: dict[str, str], committee_id: int
) -> None:
    path = f"/api/v1/bodies/{committee_id}/members"
    first = client.put(
        path,
        json=[
            {"institution": "Prefektura e Qarkut Durres", "role": "chair", "since": "2017-01-26"},
            {"institution": MUNICIPALITY},
            {"institution": "DVP", "role": "observer"},
        ],
        headers=admin,
    )
    assert first.status_code == 200
    assert first.json()[0] == {
        "institution": first.json()[0]["institution"],
        "role": "chair",
        "since": "2017-01-26",
        "until": None,
    }
    assert _members(client, admin, committee_id) == [
        (PREFECTURE, "chair"),
        (MUNICIPALITY, "member"),
        (POLICE, "observer"),
    ]

    second = client.put(
        path,
        json=[{"institution": POLICE}, {"institution": PREFECTURE, "role": "chair"}],
        headers=admin,
    )

    assert second.status_code == 200
    assert _members(client, admin, committee_id) == [(POLICE, "member"), (PREFECTURE, "chair")]

    emptied = client.put(path, json=[], headers=admin)
    assert emptied.status_code == 200
    assert _members(client, admin, committee_id) == []


def test_duplicate_members_are_reported_and_nothing_changes(
    client: TestClient, db: Session, admin: dict[str, str], committee_id: int
) -> None:
    path = f"/api/v1/bodies/{committee_id}/members"
    assert client.put(path, json=[{"institution": MUNICIPALITY}], headers=admin).status_code == 200
    police_id = client.get("/api/v1/institutions", params={"q": "DVP"}, headers=admin).json()[
        "items"
    ][0]["id"]

    response = client.put(
        path,
        json=[
            {"institution": POLICE},
            {"institution": PREFECTURE},
            {"institution": "dvp"},
            {"institution": police_id},
        ],
        headers=admin,
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["pointer"] for e in errors] == ["/2/institution", "/3/institution"]
    assert all("/0" in e["detail"] for e in errors)
    assert _members(client, admin, committee_id) == [(MUNICIPALITY, "member")]


def test_member_term_must_end_after_it_starts(
    client: TestClient, admin: dict[str, str], committee_id: int
) -> None:
    response = client.put(
        f"/api/v1/bodies/{committee_id}/members",
        json=[{"institution": MUNICIPALITY, "since": "2018-01-01", "until": "2017-01-01"}],
        headers=admin,
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/0"]


def test_members_of_an_unknown_body_are_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/api/v1/bodies/99999/members", headers=admin).status_code == 404
    assert client.put("/api/v1/bodies/99999/members", json=[], headers=admin).status_code == 404


def test_members_are_paged_in_list_order(
    client: TestClient, admin: dict[str, str], committee_id: int
) -> None:
    path = f"/api/v1/bodies/{committee_id}/members"
    order = [POLICE, PREFECTURE, MUNICIPALITY]
    client.put(path, json=[{"institution": name} for name in order], headers=admin)

    first = client.get(path, params={"limit": 2}, headers=admin)
    assert first.status_code == 200
    assert first.json()["total"] == 3
    assert 'rel="next"' in first.headers["link"]
    second = client.get(
        path, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert second.json()["next_cursor"] is None

    names = [m["institution"]["name"] for m in first.json()["items"] + second.json()["items"]]
    assert names == order


def test_a_body_stored_meanwhile_by_another_request_is_a_409(
    client: TestClient, admin: dict[str, str], committee_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests racing: both look for the region's committee before either stores one.
    # Hiding the stored committee from the look-up replays the loser's view of that race.
    monkeypatch.setattr(bodies_service, "find", lambda *args, **kwargs: None)

    response = client.post(
        "/api/v1/bodies",
        json={"kind": "committee", "region": "AL-02", "name": "KRAT Durrës"},
        headers=admin,
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "KRAT Durrës" not in response.text
    listed = client.get("/api/v1/bodies", params={"region": "AL-02"}, headers=admin).json()
    assert [b["id"] for b in listed["items"]] == [committee_id]
    assert client.get("/api/v1/audit-events", headers=admin).json()["total"] == 0
