"""The demo minutes and `krat import minutes`: files go through the same ingestion service."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.demo import load_reference
from app.meetings import service as meetings
from app.models import AuditEvent, Institution, Meeting, Recommendation

from factories import make_durres_table, minutes_document

runner = CliRunner()


def test_the_demo_minutes_load_through_the_service(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    load_reference(db)
    assert meetings.load_demo_minutes(db) == 5
    db.commit()
    # Loading again finds every document already stored.
    assert meetings.load_demo_minutes(db) == 0
    db.commit()
    assert db.exec(select(func.count()).select_from(Meeting)).one() == 5
    listed = client.get("/api/v1/meetings", headers=admin).json()
    assert [(m["held_on"], m["region"]["code"], m["kind"]) for m in listed["items"]] == [
        ("2021-10-06", "AL-11", "awareness"),
        ("2017-10-27", "AL-02", "regular"),
        ("2017-10-18", "AL-11", "conference"),
        ("2017-06-20", "AL-10", "workshop"),
        ("2017-03-15", "AL-02", "extraordinary"),
    ]
    table = client.get(f"/api/v1/meetings/{listed['items'][1]['id']}", headers=admin).json()
    assert table["chair"]["name"] == "Roland Nasto"
    assert table["body"]["name"] == "Tryeza Teknike Durrës"
    attending = {a["institution"]["name"] for a in table["attendees"]}
    assert "World Vision Shqipëri" in attending
    assert "Zyra Vendore e Arsimit Parauniversitar Durrës" in attending
    assert table["problems"][0]["raised_by"]["abbreviation"] == "ZVAP"
    r1 = table["recommendations"][0]
    assert [(r["institution"]["abbreviation"], r["lead"]) for r in r1["responsible"]] == [
        ("ZVAP", True),
        ("DRSHSSH", False),
    ]
    school = db.exec(
        select(Institution).where(Institution.name == "Shkolla 9-vjeçare Met Hasa")
    ).one()
    assert school.region_id == 2
    assert db.exec(select(func.count()).select_from(Recommendation)).one() == 11
    assert (
        db.exec(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.actor) == "demo")
        ).one()
        > 0
    )


@pytest.fixture
def folder(tmp_path: Path, db: Session) -> Path:
    make_durres_table(db)
    db.commit()
    good = minutes_document()
    bad = minutes_document(external_ref="DR-TT-2017-11-10", held_on="2017-11-10")
    bad["recommendations"][0]["responsible"][0]["institution"] = "Drejtoria e Shendetesise"
    bad["problems"][0]["theme"] = "weather"
    (tmp_path / "a_good.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b_bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not minutes", encoding="utf-8")
    return tmp_path


def meeting_refs(db: Session) -> list[str]:
    db.expire_all()
    return list(db.exec(select(Meeting.external_ref)).all())


def test_import_stores_the_good_document_and_fails_for_the_bad(folder: Path, db: Session) -> None:
    result = runner.invoke(cli, ["import", "minutes", str(folder), "--as", "sekretaria-durres"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"created   {folder / 'a_good.json'}: meeting ")
    assert lines[1] == f"invalid   {folder / 'b_bad.json'}"
    assert any(line.strip().startswith("/problems/0/theme: must be one of") for line in lines)
    assert "1 created, 1 invalid" in result.stderr
    assert meeting_refs(db) == ["DR-TT-2017-10-27"]
    actors = set(db.exec(select(AuditEvent.actor)).all())
    assert "sekretaria-durres" in actors


def test_import_reports_reference_problems_and_repeats(folder: Path, db: Session) -> None:
    bad: dict[str, Any] = json.loads((folder / "b_bad.json").read_text(encoding="utf-8"))
    bad["problems"][0]["theme"] = "coordination"
    (folder / "b_bad.json").write_text(json.dumps(bad), encoding="utf-8")
    first = runner.invoke(cli, ["import", "minutes", str(folder)])
    assert first.exit_code == 1
    assert (
        "    /recommendations/0/responsible/0/institution: unknown institution "
        "'Drejtoria e Shendetesise' in AL-02"
    ) in first.stdout
    again = runner.invoke(cli, ["import", "minutes", str(folder / "a_good.json")])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("unchanged ")
    changed = minutes_document(title="Takim i ndryshuar")
    (folder / "c_changed.json").write_text(json.dumps(changed), encoding="utf-8")
    conflict = runner.invoke(cli, ["import", "minutes", str(folder / "c_changed.json")])
    assert conflict.exit_code == 1
    assert conflict.stdout.startswith("conflict ")
    assert "PUT /api/v1/meetings/" in conflict.stdout
    assert meeting_refs(db) == ["DR-TT-2017-10-27"]


def test_import_reports_a_file_that_is_not_json(tmp_path: Path, configured: str) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(cli, ["import", "minutes", str(broken)])
    assert result.exit_code == 1
    assert "is not valid JSON" in result.stdout
    missing = runner.invoke(cli, ["import", "minutes", str(tmp_path / "nothing.json")])
    assert missing.exit_code == 2
