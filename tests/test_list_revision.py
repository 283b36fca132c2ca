"""The recommendations list answers 304 from the write counter alone, and its cached total
follows every write."""

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select, update

from app import conditional
from app.models import DataRevision, Recommendation, RecommendationStatus
from app.recommendations import router as recommendations_router
from app.responses import data_revision

from factories import make_durres_table, make_token, minutes_document

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


def test_a_304_is_answered_before_routing_and_still_carries_the_request_headers(
    client: TestClient, db: Session, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_durres_table(db)
    db.commit()
    _post(client, admin, "DR-TT-4", first=True)
    etag = client.get(LIST, params={"status": "open"}, headers=admin).headers["etag"]
    # Had the app answered, reading the revision inside the route would fail the request.
    monkeypatch.setattr(recommendations_router, "data_revision", _unreachable)
    answer = client.get(
        LIST,
        params={"status": "open"},
        headers={**admin, "If-None-Match": etag, "X-Request-ID": "poll-1"},
    )
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["etag"] == etag
    assert answer.headers["x-request-id"] == "poll-1"
    assert answer.headers["x-content-type-options"] == "nosniff"
    metrics = client.get("/metrics").text
    assert 'route="/api/v1/recommendations",status="304"' in metrics


def test_what_the_short_cut_cannot_decide_goes_to_the_app(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_durres_table(db)
    db.commit()
    _post(client, admin, "DR-TT-5", first=True)
    reader = make_token(db, "reader")
    db.commit()
    etag = client.get(LIST, params={"status": "open"}, headers=admin).headers["etag"]
    # A token not yet cached: the app authenticates it and answers the same 304.
    first = client.get(LIST, params={"status": "open"}, headers={**reader, "If-None-Match": etag})
    assert first.status_code == 304
    assert first.headers["etag"] == etag
    # No token, or a wrong one: 401, never 304.
    no_token = client.get(LIST, params={"status": "open"}, headers={"If-None-Match": etag})
    assert no_token.status_code == 401
    wrong = {"Authorization": "Bearer krat_wrong", "If-None-Match": etag}
    assert client.get(LIST, params={"status": "open"}, headers=wrong).status_code == 401
    # Downloads carry no ETag: the same validator gets the file.
    csv = client.get(
        LIST, params={"status": "open", "format": "csv"}, headers={**admin, "If-None-Match": etag}
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")


def test_a_write_by_another_process_is_seen_by_the_next_conditional_get(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    make_durres_table(db)
    db.commit()
    _post(client, admin, "DR-TT-6", first=True)
    etag = client.get(LIST, params={"status": "open"}, headers=admin).headers["etag"]
    recommendation = db.exec(select(Recommendation)).first()
    assert recommendation is not None
    # As another server would: change a row and bump the counter in one transaction.
    recommendation.status = RecommendationStatus.in_progress
    db.add(recommendation)
    db.exec(update(DataRevision).values(value=DataRevision.value + 1))  # type: ignore[call-overload]
    db.commit()
    after = client.get(LIST, params={"status": "open"}, headers={**admin, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert recommendation.id not in {item["id"] for item in after.json()["items"]}


def _unreachable(*_args: object) -> int:
    raise AssertionError("the app answered a conditional GET the middleware should have")


def test_requests_arriving_during_a_revision_read_wait_for_the_next_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []
    release = threading.Event()

    def slow_read() -> int:
        reads.append(len(reads) + 1)
        release.wait(5)
        return len(reads)

    monkeypatch.setattr(conditional, "current_data_revision", slow_read)

    async def scenario() -> tuple[int, list[int]]:
        shared = conditional.SharedRevisionRead()
        early = asyncio.create_task(shared.read())
        await asyncio.sleep(0.05)  # the first read is under way
        late = [asyncio.create_task(shared.read()) for _ in range(5)]
        await asyncio.sleep(0.05)
        release.set()
        return await early, list(await asyncio.gather(*late))

    early, late = asyncio.run(scenario())
    # The five late arrivals share one read, and it started after they arrived.
    assert early == 1
    assert late == [2] * 5
    assert reads == [1, 2]
