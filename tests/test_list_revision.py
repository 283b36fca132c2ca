"""The recommendations list answers 304 from the write counter alone, and its cached total
follows every write."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.responses import data_revision

from factories import make_durres_table, minutes_document

LIST = "/api/v1/recommendations"


def _post(client: TestClient, headers: dict[str, str], ref: str, *, first: bool = False) -> int:
    # Only the first document declares World Vision; later ones refer to it.
    extra = {} if first else {"new_institutions": []}
    response = client.post(
        "/api/v1/meetings", json=minutes_document(external_ref=ref, **extra), headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_unchanged_data_answers_304_and_any_write_changes_the_etag(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_durres_table(db)
    db.commit()
    _post(client, admin, "DR-TT-1", first=True)
    first = client.get(LIST, params={"status": "open"}, headers=admin)
    assert first.status_code == 200
    etag = first.headers["etag"]
    per_document = first.json()["total"]
    assert per_document > 0

    again = client.get(LIST, params={"status": "open"}, headers={**admin, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    other_query = client.get(LIST, params={"status": "in_progress"}, headers=admin)
    assert other_query.headers["etag"] != etag

    _post(client, admin, "DR-TT-2")
    after = client.get(LIST, params={"status": "open"}, headers={**admin, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    # The total cached for the old revision is not reused.
    assert after.json()["total"] == 2 * per_document


def test_a_rejected_write_does_not_move_the_revision(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_durres_table(db)
    db.commit()
    before = data_revision(db)
    bad = minutes_document(held_on="2999-01-01")
    assert client.post("/api/v1/meetings", json=bad, headers=admin).status_code == 422
    db.rollback()  # a fresh snapshot on SQLite
    assert data_revision(db) == before
    _post(client, admin, "DR-TT-3", first=True)
    db.rollback()
    assert data_revision(db) == before + 1
