"""Amending minutes by key and withdrawing them: ids, statuses and history survive."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import (
    AuditEvent,
    Institution,
    Problem,
    Recommendation,
    RecommendationStatusChange,
)

from factories import make_durres_table, make_token, minutes_document

URL = "/api/v1/meetings"


@pytest.fixture
def durres(db: Session) -> dict[str, Institution]:
    found = make_durres_table(db)
    db.commit()
    return found


@pytest.fixture
def posted(client: TestClient, admin: dict[str, str], durres: dict[str, Institution]) -> Any:
    response = client.post(URL, json=minutes_document(), headers=admin)
    assert response.status_code == 201, response.text
    return response


def history(db: Session, recommendation_id: int) -> list[tuple[Any, ...]]:
    db.expire_all()
    rows = db.exec(
        select(RecommendationStatusChange)
        .where(RecommendationStatusChange.recommendation_id == recommendation_id)
        .order_by(col(RecommendationStatusChange.id))
    ).all()
    return [(r.from_status, r.to_status, r.note) for r in rows]


def amended_document() -> dict[str, Any]:
    """The example minutes with r1 reworded, r2 removed, r3 and p2 new."""
    document = minutes_document(title="Takim me Tryezën Teknike KRAT (i korrigjuar)")
    document["recommendations"][0]["text"] = "Ngritja e mekanizmit të përbashkët ZVAP–DRSHSSH."
    document["recommendations"][0]["due_on"] = "2018-04-30"
    document["recommendations"].pop(1)
    document["problems"].append(
        {"key": "p2", "raised_by": "DVP", "theme": "coordination", "title": "Koordinimi"}
    )
    document["recommendations"].append(
        {
            "key": "r3",
            "problem": "p2",
            "text": "Takime mujore të Tryezës Teknike.",
            "responsible": [{"institution": "Prefektura e Qarkut Durrës", "lead": True}],
        }
    )
    return document


def test_amendment_matches_by_key_keeps_ids_and_withdraws_removed(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    original = posted.json()
    r1, r2 = original["recommendations"]
    started = client.patch(
        f"/api/v1/recommendations/{r1['id']}", json={"status": "in_progress"}, headers=admin
    )
    assert started.status_code == 200, started.text
    etag = client.get(f"{URL}/{original['id']}", headers=admin).headers["ETag"]
    response = client.put(
        f"{URL}/{original['id']}", json=amended_document(), headers={**admin, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    minutes = response.json()
    assert minutes["id"] == original["id"]
    assert minutes["title"].endswith("(i korrigjuar)")
    by_key = {r["key"]: r for r in minutes["recommendations"]}
    assert set(by_key) == {"r1", "r3"}
    assert by_key["r1"]["id"] == r1["id"]
    assert by_key["r1"]["status"] == "in_progress"
    assert by_key["r1"]["due_on"] == "2018-04-30"
    assert by_key["r3"]["status"] == "open" and by_key["r3"]["problem"] == "p2"
    assert [p["key"] for p in minutes["problems"]] == ["p1", "p2"]
    assert minutes["problems"][0]["id"] == original["problems"][0]["id"]
    assert history(db, r1["id"]) == [(None, "open", None), ("open", "in_progress", None)]
    assert history(db, r2["id"]) == [
        (None, "open", None),
        ("open", "withdrawn", "removed from the minutes by an amendment"),
    ]
    assert history(db, by_key["r3"]["id"]) == [(None, "open", None)]
    removed = db.get(Recommendation, r2["id"])
    assert removed is not None and removed.status == "withdrawn" and removed.removed_at
    events = db.exec(
        select(AuditEvent).where(AuditEvent.entity == "meeting", AuditEvent.action == "update")
    ).all()
    assert len(events) == 1
    assert events[0].before["recommendations"] == ["r1", "r2"]
    assert events[0].after["recommendations"] == ["r1", "r3"]


def test_a_removed_key_that_comes_back_is_restored(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    meeting_id = posted.json()["id"]
    r2_id = posted.json()["recommendations"][1]["id"]
    assert (
        client.put(f"{URL}/{meeting_id}", json=amended_document(), headers=admin).status_code == 200
    )
    document = amended_document()
    document["recommendations"].append(minutes_document()["recommendations"][1])
    response = client.put(f"{URL}/{meeting_id}", json=document, headers=admin)
    assert response.status_code == 200, response.text
    restored = {r["key"]: r for r in response.json()["recommendations"]}["r2"]
    assert restored["id"] == r2_id and restored["status"] == "open"
    assert history(db, r2_id)[-1] == (
        "withdrawn",
        "open",
        "restored to the minutes by an amendment",
    )


def test_removed_problems_are_marked_withdrawn_not_deleted(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    meeting_id = posted.json()["id"]
    problem_id = posted.json()["problems"][0]["id"]
    document = minutes_document(problems=[])
    del document["recommendations"][0]["problem"]
    response = client.put(f"{URL}/{meeting_id}", json=document, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["problems"] == []
    db.expire_all()
    problem = db.get(Problem, problem_id)
    assert problem is not None and problem.withdrawn_at is not None
    listed = client.get("/api/v1/problems", params={"meeting": meeting_id}, headers=admin)
    assert listed.json()["total"] == 0
    everything = client.get(
        "/api/v1/problems",
        params={"meeting": meeting_id, "include_withdrawn": "true"},
        headers=admin,
    )
    assert [p["withdrawn"] for p in everything.json()["items"]] == [True]


def test_reposting_the_amended_minutes_is_a_repeat(
    client: TestClient, admin: dict[str, str], posted: Any
) -> None:
    meeting_id = posted.json()["id"]
    amended = client.put(f"{URL}/{meeting_id}", json=amended_document(), headers=admin)
    assert amended.status_code == 200
    again = client.post(URL, json=amended_document(), headers=admin)
    assert again.status_code == 200
    assert again.json() == amended.json()
    assert client.post(URL, json=minutes_document(), headers=admin).status_code == 409


def test_an_unchanged_amendment_changes_nothing(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    response = client.put(f"{URL}/{posted.json()['id']}", json=minutes_document(), headers=admin)
    assert response.status_code == 200
    assert response.json() == posted.json()
    updates = db.exec(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert updates == []


def test_amendment_with_a_stale_etag_is_refused(
    client: TestClient, admin: dict[str, str], posted: Any
) -> None:
    meeting_id = posted.json()["id"]
    stale = posted.headers["ETag"]
    assert (
        client.put(f"{URL}/{meeting_id}", json=amended_document(), headers=admin).status_code == 200
    )
    response = client.put(
        f"{URL}/{meeting_id}", json=minutes_document(), headers={**admin, "If-Match": stale}
    )
    assert response.status_code == 412
    assert (
        client.delete(f"{URL}/{meeting_id}", headers={**admin, "If-Match": stale}).status_code
        == 412
    )


def test_amendment_cannot_move_the_minutes(
    client: TestClient, admin: dict[str, str], posted: Any
) -> None:
    document = minutes_document(
        external_ref="ANOTHER", body={"region": "AL-02", "kind": "committee"}
    )
    response = client.put(f"{URL}/{posted.json()['id']}", json=document, headers=admin)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/body", "/external_ref"}


def test_amendment_reports_every_problem_and_changes_nothing(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    document = amended_document()
    document["recommendations"][1]["responsible"][0]["institution"] = "Prefektura Durres"
    document["recommendations"][1]["problem"] = "p7"
    response = client.put(f"{URL}/{posted.json()['id']}", json=document, headers=admin)
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2
    unchanged = client.get(f"{URL}/{posted.json()['id']}", headers=admin)
    assert unchanged.json() == posted.json()


def test_withdrawal_withdraws_every_recommendation_and_deletes_nothing(
    client: TestClient, admin: dict[str, str], posted: Any, db: Session
) -> None:
    meeting_id = posted.json()["id"]
    ids = [r["id"] for r in posted.json()["recommendations"]]
    response = client.delete(
        f"{URL}/{meeting_id}", headers={**admin, "If-Match": posted.headers["ETag"]}
    )
    assert response.status_code == 204
    minutes = client.get(f"{URL}/{meeting_id}", headers=admin).json()
    assert minutes["withdrawn"] is True and minutes["withdrawn_at"]
    assert [r["status"] for r in minutes["recommendations"]] == ["withdrawn", "withdrawn"]
    assert history(db, ids[0])[-1] == ("open", "withdrawn", "meeting withdrawn")
    assert client.get(URL, headers=admin).json()["total"] == 0
    listed = client.get(URL, params={"include_withdrawn": "true"}, headers=admin).json()
    assert [(m["id"], m["withdrawn"]) for m in listed["items"]] == [(meeting_id, True)]
    assert client.get("/api/v1/problems", headers=admin).json()["total"] == 0
    repost = client.post(URL, json=minutes_document(), headers=admin)
    assert repost.status_code == 409
    assert "withdrawn" in repost.json()["detail"] and repost.json()["meeting_id"] == meeting_id
    amend = client.put(f"{URL}/{meeting_id}", json=minutes_document(), headers=admin)
    assert amend.status_code == 409
    assert client.delete(f"{URL}/{meeting_id}", headers=admin).status_code == 204


def test_other_regions_cannot_amend_or_withdraw(
    client: TestClient, posted: Any, db: Session
) -> None:
    shkoder = make_token(db, "secretariat", region="AL-10")
    durres = make_token(db, "secretariat", region="AL-02")
    db.commit()
    meeting_id = posted.json()["id"]
    assert (
        client.put(f"{URL}/{meeting_id}", json=amended_document(), headers=shkoder).status_code
        == 403
    )
    assert client.delete(f"{URL}/{meeting_id}", headers=shkoder).status_code == 403
    assert client.get(f"{URL}/{meeting_id}", headers=shkoder).json() == posted.json()
    assert (
        client.put(f"{URL}/{meeting_id}", json=amended_document(), headers=durres).status_code
        == 200
    )
    assert client.delete(f"{URL}/{meeting_id}", headers=durres).status_code == 204
