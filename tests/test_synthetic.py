"""`krat demo --synthetic N`: deterministic, realistic bulk data the API then serves and extends."""

import hashlib
import shutil
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from app import demo
from app.cli import app as cli
from app.db import make_engine
from app.demo.synthetic import END, generate
from app.models import Pillar, ProblemTheme, RecommendationStatus
from app.text import fold

N = 300
SEED = 7
ACTIVE = ("open", "in_progress")
runner = CliRunner()


def _generated(session: Session, seed: int = SEED, n: int = N) -> dict[str, int]:
    demo.load_reference(session)
    counts = generate(session, recommendations=n, seed=seed)
    session.commit()
    return counts


def _rows(session: Session, sql: str, **params: Any) -> list[Any]:
    return list(session.execute(text(sql), params).all())


def _digest(connection: Session | Engine) -> str:
    sql = "SELECT id, key, text, status, due_on, region_id FROM recommendation ORDER BY id"
    if isinstance(connection, Engine):
        with connection.connect() as c:
            rows = c.execute(text(sql)).all()
    else:
        rows = connection.execute(text(sql)).all()
    canonical = "\n".join("|".join(str(value) for value in row) for row in rows)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fresh_sqlite(template: Path, folder: Path, seed: int) -> str:
    """Generate into another database from the same template; return its digest."""
    path = folder / f"other-{seed}.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            _generated(session, seed=seed)
        return _digest(engine)
    finally:
        engine.dispose()


def test_the_same_seed_gives_identical_recommendations_on_either_engine(
    db: Session, sqlite_template: Path, tmp_path: Path
) -> None:
    _generated(db)
    assert _rows(db, "SELECT count(*) FROM recommendation")[0][0] == N
    # The reference is always a SQLite database: on PostgreSQL this also shows that both
    # engines hold exactly the same rows.
    assert _digest(db) == _fresh_sqlite(sqlite_template, tmp_path, SEED)
    assert _digest(db) != _fresh_sqlite(sqlite_template, tmp_path, SEED + 1)


def test_meetings_have_10_to_20_recommendations_with_1_to_3_responsible_and_one_lead(
    db: Session,
) -> None:
    _generated(db)
    sizes = _rows(db, "SELECT meeting_id, count(*) FROM recommendation GROUP BY meeting_id")
    assert sizes and all(10 <= size <= 20 for _, size in sizes)
    responsible = _rows(
        db,
        "SELECT r.id, count(*), sum(CASE WHEN x.lead THEN 1 ELSE 0 END), "
        "sum(CASE WHEN i.region_id = r.region_id THEN 1 ELSE 0 END) "
        "FROM recommendation r JOIN recommendation_responsible x ON x.recommendation_id = r.id "
        "JOIN institution i ON i.id = x.institution_id GROUP BY r.id",
    )
    assert len(responsible) == N
    assert {count for _, count, _, _ in responsible} == {1, 2, 3}
    assert all(leads == 1 and own == count for _, count, leads, own in responsible)
    copied = _rows(
        db,
        "SELECT count(*) FROM recommendation r JOIN meeting m ON m.id = r.meeting_id "
        "WHERE r.region_id <> m.region_id OR r.body_id <> m.body_id",
    )
    assert copied[0][0] == 0
    attendance = _rows(db, "SELECT count(*) FROM attendance GROUP BY meeting_id")
    assert all(5 <= count <= 20 for (count,) in attendance)
    assert len(attendance) == len(sizes)
    problems = _rows(db, "SELECT meeting_id, theme FROM problem")
    assert {theme for _, theme in problems} <= set(ProblemTheme)
    assert max(Counter(m for m, _ in problems).values()) <= 5
    refs = _rows(db, "SELECT body_id, external_ref, document_hash FROM meeting")
    assert len({(body, ref) for body, ref, _ in refs}) == len(refs)
    assert all(h == hashlib.sha256(ref.encode()).hexdigest() for _, ref, h in refs)


def test_statuses_are_mixed_and_each_step_has_a_history_entry(db: Session) -> None:
    _generated(db)
    statuses = Counter(s for (s,) in _rows(db, "SELECT status FROM recommendation"))
    assert set(statuses) == set(RecommendationStatus)
    assert statuses["open"] > statuses["implemented"] > statuses["not_implemented"]
    history = _rows(
        db,
        "SELECT r.id, r.status, r.version, h.from_status, h.to_status "
        "FROM recommendation r JOIN recommendation_status_change h ON h.recommendation_id = r.id "
        "ORDER BY r.id, h.id",
    )
    by_recommendation: dict[int, list[Any]] = {}
    for row in history:
        by_recommendation.setdefault(row[0], []).append(row)
    assert len(by_recommendation) == N
    for entries in by_recommendation.values():
        _, status, version, first_from, first_to = entries[0]
        assert (first_from, first_to) == (None, "open")
        assert entries[-1][4] == status
        assert version == len(entries)
        assert all(a[4] == b[3] for a, b in pairwise(entries))
    reported = _rows(
        db,
        "SELECT f.new_status, r.status FROM follow_up f "
        "JOIN recommendation r ON r.id = f.recommendation_id",
    )
    assert reported
    assert all(new is None or new == status for new, status in reported)


def test_some_recommendations_are_overdue_and_some_not_yet_due(db: Session) -> None:
    _generated(db)
    rows = _rows(db, "SELECT status, due_on FROM recommendation WHERE due_on IS NOT NULL")
    due = [(status, d if isinstance(d, date) else date.fromisoformat(d)) for status, d in rows]
    overdue = [d for status, d in due if status in ACTIVE and d < date.today()]
    assert 0 < len(overdue) < len(due)
    # Content never depends on the day it is generated, so "not yet due" is anchored to the
    # data's own last meeting day: active recommendations due after it exist.
    assert any(status in ACTIVE and d > END for status, d in due)


def test_texts_are_albanian_with_diacritics_and_folded_for_search(db: Session) -> None:
    _generated(db)
    texts = _rows(db, "SELECT text, text_folded FROM recommendation")
    assert all(folded == fold(value) for value, folded in texts)
    assert sum(1 for value, _ in texts if set(value) & set("ëçËÇ")) > 0.9 * len(texts)
    school = [value for value, folded in texts if "shkollen" in folded]
    assert 0.03 * N < len(school) < 0.3 * N
    assert all("shkollën" in value for value in school)
    problems = _rows(db, "SELECT title, description, text_folded FROM problem")
    assert problems
    assert all(f == fold(f"{t} {d or ''}") for t, d, f in problems)
    titles = _rows(db, "SELECT title, title_folded FROM meeting")
    assert all(folded == fold(title) for title, folded in titles)


def test_each_region_has_a_two_year_plan_with_activities_and_follow_ups(db: Session) -> None:
    _generated(db, n=2000)  # enough recent meetings for some links to the plans
    plans = _rows(db, "SELECT id, region_id, period_start, period_end FROM action_plan")
    assert sorted(region for _, region, _, _ in plans) == list(range(1, 13))
    objectives = _rows(db, "SELECT action_plan_id, pillar FROM objective")
    per_plan = Counter(plan for plan, _ in objectives)
    assert all(3 <= per_plan[plan] <= 4 for plan, _, _, _ in plans)
    assert {pillar for _, pillar in objectives} == set(Pillar)
    assert len(set(objectives)) == len(objectives)  # distinct pillars within a plan
    activities = _rows(
        db,
        "SELECT a.action_plan_id, a.id, a.status, "
        "(SELECT count(*) FROM activity_responsible x WHERE x.activity_id = a.id), "
        "(SELECT sum(CASE WHEN x.lead THEN 1 ELSE 0 END) FROM activity_responsible x "
        " WHERE x.activity_id = a.id) FROM activity a",
    )
    counts = Counter(plan for plan, *_ in activities)
    assert all(6 <= counts[plan] <= 12 for plan, _, _, _ in plans)
    assert all(1 <= n <= 3 and leads == 1 for *_, n, leads in activities)
    reports = _rows(
        db,
        "SELECT activity_id, new_status, progress_value FROM follow_up "
        "WHERE activity_id IS NOT NULL ORDER BY reported_on, id",
    )
    assert reports and all(value is not None for _, _, value in reports)
    latest: dict[int, str] = {}
    for activity_id, new_status, _ in reports:
        if new_status is not None:
            latest[activity_id] = new_status
    assert all(latest.get(a, "not_started") == status for _, a, status, _, _ in activities)
    links = _rows(
        db,
        "SELECT r.region_id, p.region_id, m.held_on, p.period_start FROM recommendation r "
        "JOIN meeting m ON m.id = r.meeting_id JOIN activity a ON a.id = r.activity_id "
        "JOIN action_plan p ON p.id = a.action_plan_id",
    )
    assert links
    assert all(mine == theirs and str(held) >= str(start) for mine, theirs, held, start in links)


def test_the_api_reads_and_extends_the_generated_data(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    _generated(db)
    response = client.get("/api/v1/recommendations?status=open&limit=50", headers=admin)
    assert response.status_code == 200
    items = response.json()["items"]
    assert items and all(item["status"] == "open" for item in items)
    overdue = client.get(
        "/api/v1/recommendations?region=AL-11&overdue=true&q=shkollen", headers=admin
    )
    assert overdue.status_code == 200
    assert all(item["overdue"] for item in overdue.json()["items"])
    # Writes after the bulk insert get fresh ids (on PostgreSQL: the sequences were moved).
    created = client.post(
        "/api/v1/institutions",
        json={"name": "Qendra Komunitare Sot për të Ardhmen", "kind": "ngo", "region": "AL-02"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    minutes = client.post("/api/v1/meetings", json=_minutes(), headers=admin)
    assert minutes.status_code == 201, minutes.text
    target = items[0]["id"]
    etag = client.get(f"/api/v1/recommendations/{target}", headers=admin).headers["etag"]
    assert etag == f'"v{items[0]["version"]}"'
    changed = client.patch(
        f"/api/v1/recommendations/{target}",
        json={"status": "in_progress"},
        headers={**admin, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    history = client.get(f"/api/v1/recommendations/{target}/history", headers=admin)
    assert history.status_code == 200
    assert [h["to_status"] for h in history.json()["items"]] == ["open", "in_progress"]


def _minutes() -> dict[str, Any]:
    return {
        "external_ref": "DR-TT-2026-11-20",
        "body": {"region": "AL-02", "kind": "technical_table"},
        "held_on": "2026-11-20",
        "kind": "regular",
        "title": "Takim me Tryezën Teknike pas të dhënave sintetike",
        "attendees": [{"institution": "ZVAP"}, {"institution": "DRSHSSH"}],
        "problems": [
            {"key": "p1", "raised_by": "ZVAP", "theme": "school_dropout", "title": "Braktisja"}
        ],
        "recommendations": [
            {
                "key": "r1",
                "problem": "p1",
                "text": "Ndjekja e nxënësve që braktisin shkollën.",
                "responsible": [{"institution": "ZVAP", "lead": True}],
                "due_on": "2027-03-31",
            }
        ],
    }


def test_the_demo_command_generates_synthetic_data(configured: str, db: Session) -> None:
    result = runner.invoke(cli, ["demo", "--synthetic", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "synthetic: 40/40 recommendations" in result.stderr
    assert "rows/s" in result.stderr
    synthetic = _rows(
        db,
        "SELECT count(*) FROM recommendation WHERE meeting_id IN "
        "(SELECT id FROM meeting WHERE external_ref LIKE 'SYN-%')",
    )
    assert synthetic[0][0] == 40
    audit = _rows(db, "SELECT actor, action FROM audit_event WHERE entity = 'synthetic'")
    assert audit == [("demo-synthetic", "generate")]
