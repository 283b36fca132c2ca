"""Conditional requests: ETag and 304 on reads, If-Match and 412 on writes."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from factories import make_body, make_institution


@pytest.fixture
def police_id(db: Session) -> int:
    institution = make_institution(db, name="Drejtoria Vendore e Policisë Durrës")
    db.commit()
    return institution.id or 0


def test_institution_read_has_an_etag_and_304_when_unchanged(
    client: TestClient, admin: dict[str, str], police_id: int
) -> None:
    first = client.get(f"/api/v1/institutions/{police_id}", headers=admin)
    assert first.status_code == 200
    etag = first.headers["etag"]

    again = client.get(
        f"/api/v1/institutions/{police_id}", headers={**admin, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    other = client.get(
        f"/api/v1/institutions/{police_id}", headers={**admin, "If-None-Match": '"v999"'}
    )
    assert other.status_code == 200


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, admin: dict[str, str], police_id: int
) -> None:
    path = f"/api/v1/institutions/{police_id}"
    stale = client.get(path, headers=admin).headers["etag"]
    changed = client.patch(path, json={"abbreviation": "DVP"}, headers=admin)
    assert changed.status_code == 200
    current = changed.headers["etag"]
    assert current != stale

    response = client.patch(
        path, json={"abbreviation": "DVP Durrës"}, headers={**admin, "If-Match": stale}
    )

    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["current_etag"] == current
    after = client.get(path, headers=admin)
    assert after.json()["abbreviation"] == "DVP"
    assert after.headers["etag"] == current


def test_patch_with_the_current_if_match_succeeds_with_a_new_etag(
    client: TestClient, admin: dict[str, str], police_id: int
) -> None:
    path = f"/api/v1/institutions/{police_id}"
    read = client.get(path, headers=admin)
    etag = read.headers["etag"]

    response = client.patch(
        path, json={"abbreviation": "DVP Durrës"}, headers={**admin, "If-Match": etag}
    )

    assert response.status_code == 200
    assert response.json()["abbreviation"] == "DVP Durrës"
    assert response.json()["version"] == read.json()["version"] + 1
    assert response.headers["etag"] != etag
    assert client.get(path, headers=admin).headers["etag"] == response.headers["etag"]
    # The old copy is no longer current.
    assert client.get(path, headers={**admin, "If-None-Match": etag}).status_code == 200


def test_body_patch_and_member_put_honour_if_match(
    client: TestClient, db: Session, admin: dict[str, str], police_id: int
) -> None:
    body = make_body(db, kind="committee", region="AL-02")
    db.commit()
    path = f"/api/v1/bodies/{body.id}"
    etag = client.get(path, headers=admin).headers["etag"]

    members = client.put(
        f"{path}/members", json=[{"institution": police_id}], headers={**admin, "If-Match": etag}
    )
    assert members.status_code == 200
    # Replacing the members changed the body: the ETag read before is stale now.
    stale = client.patch(path, json={"name": "KRAT Durrës"}, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(path, headers=admin).json()["name"] == body.name
    stale_members = client.put(f"{path}/members", json=[], headers={**admin, "If-Match": etag})
    assert stale_members.status_code == 412
    assert client.get(f"{path}/members", headers=admin).json()["total"] == 1


def test_list_has_an_etag_that_changes_with_its_content(
    client: TestClient, db: Session, admin: dict[str, str], police_id: int
) -> None:
    first = client.get("/api/v1/institutions", headers=admin)
    assert first.status_code == 200
    etag = first.headers["etag"]

    again = client.get("/api/v1/institutions", headers={**admin, "If-None-Match": etag})
    assert again.status_code == 304

    make_institution(db, name="Bashkia Durrës", kind="municipality")
    db.commit()
    changed = client.get("/api/v1/institutions", headers={**admin, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["total"] == 2


@pytest.mark.parametrize("path", ["/api/v1/regions", "/api/v1/bodies", "/api/v1/audit-events"])
def test_other_lists_answer_304_too(client: TestClient, admin: dict[str, str], path: str) -> None:
    etag = client.get(path, headers=admin).headers["etag"]
    assert client.get(path, headers={**admin, "If-None-Match": etag}).status_code == 304
