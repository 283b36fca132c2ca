"""`q` finds recommendations through an index, with the same answers as a plain scan."""

from dataclasses import replace
from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Recommendation
from app.recommendations import search
from app.recommendations import service as recommendations
from app.text import fold

from factories import make_body, make_meeting, make_recommendation

COMMON = "Forcimi i bashkëpunimit ndërmjet shërbimeve sociale"
RARE = "Ngritja e strukturës për monitorimin e nxënësve që braktisin shkollën"


def _ids(client: TestClient, headers: dict[str, str], q: str) -> list[int]:
    response = client.get("/api/v1/recommendations", params={"q": q, "limit": 200}, headers=headers)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["items"]]


def _seed(db: Session, common: int) -> tuple[list[int], int]:
    meeting = make_meeting(db, body=make_body(db))
    common_ids = [make_recommendation(db, meeting=meeting, text=COMMON).id for _ in range(common)]
    rare = make_recommendation(db, meeting=meeting, text=RARE)
    db.commit()
    return common_ids, rare.id


def test_rare_and_common_terms_find_the_same_rows_as_a_scan(
    client: TestClient, db: Session, admin: dict[str, str], monkeypatch, is_postgres: bool
) -> None:
    monkeypatch.setattr(search, "RARE_LIMIT", 5)
    common_ids, rare_id = _seed(db, common=8)

    rare = search.plan(db, recommendations.Filters(q="SHKOLLEN"))
    common = search.plan(db, recommendations.Filters(q="bashkepunimit"))
    # SQLite probes its FTS5 index; PostgreSQL leaves the choice to its planner.
    assert rare.q_by_index is not is_postgres
    assert common.q_by_index is False

    assert _ids(client, admin, "SHKOLLËN") == [rare_id]
    assert sorted(_ids(client, admin, "bashkepunimit")) == sorted(common_ids)
    assert _ids(client, admin, "ab") == []  # too short for trigrams: a scan, no error
    assert _ids(client, admin, "100%") == []  # LIKE wildcards are literal


def test_the_index_follows_text_changes(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    _, rare_id = _seed(db, common=0)
    row = db.get(Recommendation, rare_id)
    assert row is not None
    row.text = "Hartimi i një protokolli për identifikimin e hershëm"
    row.text_folded = fold(row.text)
    db.add(row)
    db.commit()

    assert _ids(client, admin, "protokollit") == []
    assert _ids(client, admin, "protokolli") == [rare_id]
    assert _ids(client, admin, "braktisin") == []


def test_index_path_equals_scan_path(db: Session) -> None:
    _seed(db, common=3)
    filters = recommendations.Filters(q="monitorimin")
    by_index = replace(filters, q_by_index=True)
    by_scan = replace(filters, q_by_index=False)
    stmt = select(Recommendation.id)
    if db.get_bind().dialect.name != "sqlite":
        by_index = by_scan  # the FTS table exists on SQLite only
    index_rows = db.exec(stmt.where(*recommendations.conditions(by_index, date.today()))).all()
    scan_rows = db.exec(stmt.where(*recommendations.conditions(by_scan, date.today()))).all()
    assert sorted(index_rows) == sorted(scan_rows) and len(scan_rows) == 1
