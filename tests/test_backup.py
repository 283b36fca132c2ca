"""Backups: `krat backup` copies a live database; `krat restore` brings back the same answers."""

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

from app import auth, migrations
from app.cli import app as cli
from app.config import get_settings
from app.db import get_engine
from app.regions import service as regions

from factories import minutes_document

runner = CliRunner()

API = "/api/v1"
Answers = dict[str, tuple[int, bytes, str | None]]

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# name, abbreviation, kind, region: the members and the institutions the minutes name.
INSTITUTIONS = [
    ("Prefektura e Qarkut Durrës", None, "prefecture", "AL-02"),
    ("Bashkia Durrës", None, "municipality", "AL-02"),
    ("Zyra Vendore e Arsimit Parauniversitar Durrës", "ZVAP", "education", "AL-02"),
    (
        "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
        "DRSHSSH",
        "social_service",
        "AL-02",
    ),
    ("Drejtoria Vendore e Policisë Durrës", "DVP", "police", "AL-02"),
    ("Organizata Ndërkombëtare për Migracionin", "IOM", "international", None),
]


def _restart() -> None:
    """Do what stopping and starting the server does: close its connections, drop its caches."""
    get_engine().dispose()
    regions.clear_cache()
    auth.token_cache.clear()


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def _add_municipality(client: TestClient, admin: dict[str, str], name: str) -> dict[str, Any]:
    body = {"name": name, "kind": "municipality", "region": "AL-02"}
    return _created(client.post(f"{API}/institutions", json=body, headers=admin))


def _record(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """Store, through the API, what a region's secretariat keeps: who, which bodies, minutes."""

    def post(path: str, body: Any, headers: dict[str, str] = admin) -> dict[str, Any]:
        return _created(client.post(API + path, json=body, headers=headers))

    ids: dict[str, int] = {}
    for name, abbreviation, kind, region in INSTITUTIONS:
        spec = {"name": name, "abbreviation": abbreviation, "kind": kind, "region": region}
        ids[name] = post("/institutions", spec)["id"]
    committee = post("/bodies", {"kind": "committee", "region": "AL-02", "name": "KRAT Durrës"})
    table = post(
        "/bodies",
        {
            "kind": "technical_table",
            "region": "AL-02",
            "name": "Tryeza Teknike Durrës",
            "parent_id": committee["id"],
        },
    )
    members = client.put(
        f"{API}/bodies/{table['id']}/members",
        json=[
            {"institution": "Prefektura e Qarkut Durrës", "role": "chair"},
            {"institution": "ZVAP", "role": "member", "since": "2017-01-26"},
            {"institution": ids["Drejtoria Vendore e Policisë Durrës"], "role": "member"},
        ],
        headers=admin,
    )
    assert members.status_code == 200, members.text
    token = post(
        "/tokens", {"name": "sekretariati-durres", "role": "secretariat", "region": "AL-02"}
    )
    secretariat = {"Authorization": f"Bearer {token['token']}"}
    meeting = post("/meetings", minutes_document(), secretariat)
    recommendation = meeting["recommendations"][0]["id"]
    moved = client.patch(
        f"{API}/recommendations/{recommendation}",
        json={"status": "in_progress", "note": "Takimi i parë u mbajt."},
        headers=secretariat,
    )
    assert moved.status_code == 200, moved.text
    return {
        "institution": ids["Bashkia Durrës"],
        "table": table["id"],
        "token": token["id"],
        "secretariat": secretariat,
        "meeting": meeting["id"],
        "recommendation": recommendation,
    }


def _reads(record: dict[str, Any]) -> list[str]:
    return [
        "/regions",
        "/institutions",
        "/institutions?q=durres&limit=2",
        f"/institutions/{record['institution']}",
        "/bodies",
        f"/bodies/{record['table']}",
        f"/bodies/{record['table']}/members",
        "/meetings",
        f"/meetings/{record['meeting']}",
        "/problems",
        "/recommendations",
        "/recommendations?status=in_progress&q=mekanizmi",
        f"/recommendations/{record['recommendation']}",
        f"/recommendations/{record['recommendation']}/history",
        "/tokens",
        "/audit-events",
    ]


def _answers(client: TestClient, headers: dict[str, str], paths: list[str]) -> Answers:
    """GET each path: status, body bytes and ETag."""
    answers: Answers = {}
    for path in paths:
        response = client.get(API + path, headers=headers)
        answers[path] = (response.status_code, response.content, response.headers.get("etag"))
    return answers


def _assert_restored(after: Answers, *served: Answers) -> None:
    """The answers after a restore are those of the backup's time (`served[0]`), byte for byte;
    ETags are too, but for the list whose ETag names the write counter: the restore moves the
    counter past every value served before it (`served`), so no copy taken then is current."""
    before = served[0]
    assert {path: answer[:2] for path, answer in after.items()} == {
        path: answer[:2] for path, answer in before.items()
    }
    for path, answer in after.items():
        if path.split("?")[0] == "/recommendations":
            assert answer[2] not in {answers[path][2] for answers in served}
        else:
            # Single resources carry their restored version, other lists a hash of the bytes.
            assert answer[2] == before[path][2]


def _change_everything(client: TestClient, admin: dict[str, str], record: dict[str, Any]) -> None:
    """Change and add rows after the backup, as the next day's work would."""
    renamed = client.patch(
        f"{API}/institutions/{record['institution']}",
        json={"name": "Bashkia e Durrësit"},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    _add_municipality(client, admin, "Bashkia Shijak")
    replaced = client.put(
        f"{API}/bodies/{record['table']}/members",
        json=[{"institution": "Bashkia Shijak", "role": "member"}],
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text
    assert client.delete(f"{API}/meetings/{record['meeting']}", headers=admin).status_code == 204
    assert client.delete(f"{API}/tokens/{record['token']}", headers=admin).status_code == 204


def test_a_restored_database_serves_the_same_answers(
    client: TestClient, admin: dict[str, str], tmp_path: Path, is_postgres: bool
) -> None:
    record = _record(client, admin)
    paths = _reads(record)
    before = _answers(client, admin, paths)
    assert all(status == 200 for status, _, _ in before.values()), before
    archive = tmp_path / "krat.backup"

    made = runner.invoke(cli, ["backup", "--out", str(archive)])

    assert made.exit_code == 0, made.output
    assert archive.stat().st_size > 0
    if is_postgres:
        assert "pg_dump --format=custom --no-owner" in made.stderr
    else:
        assert "integrity check: ok" in made.stderr
        # The six posted, and World Vision, which the minutes added.
        assert "institution 7" in made.stderr and "meeting 1" in made.stderr
    assert f"migration revision: {migrations.head_revision()}" in made.stderr

    _change_everything(client, admin, record)
    changed = _answers(client, admin, paths)
    assert changed != before

    refused = runner.invoke(cli, ["restore", str(archive)])
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert _answers(client, admin, paths) == changed

    _restart()
    restored = runner.invoke(cli, ["restore", "--yes", str(archive)])

    assert restored.exit_code == 0, restored.output
    _assert_restored(_answers(client, admin, paths), before, changed)
    # The token revoked after the backup is live again; the restore says so.
    assert "revoke them again" in restored.stderr
    assert client.get(f"{API}/regions", headers=record["secretariat"]).status_code == 200
    # New rows continue after the restored ones: identity sequences came back too.
    newest = max(
        item["id"] for item in client.get(f"{API}/institutions", headers=admin).json()["items"]
    )
    added = _add_municipality(client, admin, "Bashkia Krujë")
    assert added["id"] > newest


def _drop_everything(database_url: str) -> None:
    """Leave a database with no data: a lost SQLite file, a truncated PostgreSQL."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for leftover in [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))]:
            leftover.unlink(missing_ok=True)
        return
    tables = [t.name for t in SQLModel.metadata.sorted_tables if t.name != "region"]
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def test_a_database_without_data_is_restored_into_without_yes(
    client: TestClient, admin: dict[str, str], configured: str, tmp_path: Path
) -> None:
    record = _record(client, admin)
    paths = _reads(record)
    before = _answers(client, admin, paths)
    archive = tmp_path / "krat.backup"
    assert runner.invoke(cli, ["backup", "--out", str(archive)]).exit_code == 0
    _restart()
    _drop_everything(configured)

    restored = runner.invoke(cli, ["restore", str(archive)])

    assert restored.exit_code == 0, restored.output
    _restart()
    _assert_restored(_answers(client, admin, paths), before)


# --- SQLite: a copy of a live database ---------------------------------------------------------


def _sqlite_file(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


@SQLITE_ONLY
def test_backup_runs_beside_a_writer_and_copies_committed_rows_only(
    client: TestClient, admin: dict[str, str], configured: str, tmp_path: Path
) -> None:
    _add_municipality(client, admin, "Bashkia Durrës")
    database = _sqlite_file(configured)
    # The commit is still in the -wal file: a plain copy of krat.db would not have it.
    assert database.with_name(database.name + "-wal").stat().st_size > 0
    writer = sqlite3.connect(database, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO institution (name, name_folded, kind, level, active, version, created_at,"
        " updated_at) VALUES ('Bashkia Shijak', 'bashkia shijak', 'municipality', 'local', 1, 1,"
        " '2017-10-27', '2017-10-27')"
    )
    archive = tmp_path / "backups" / "copy.db"
    try:
        made = runner.invoke(cli, ["backup", "--out", str(archive)])
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert made.exit_code == 0, made.output
    with closing(sqlite3.connect(archive)) as copy:
        names = [row[0] for row in copy.execute("SELECT name FROM institution")]
        journal = copy.execute("PRAGMA journal_mode").fetchone()[0]
        integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
    assert names == ["Bashkia Durrës"]
    assert (journal, integrity) == ("delete", "ok")
    # One self-contained file, no temporary or -wal file beside it.
    assert [p.name for p in archive.parent.iterdir()] == ["copy.db"]


@SQLITE_ONLY
def test_backup_refuses_to_write_over_the_database_itself(configured: str) -> None:
    result = runner.invoke(cli, ["backup", "--out", str(_sqlite_file(configured))])
    assert result.exit_code == 1
    assert "must not be the database itself" in result.stderr


@SQLITE_ONLY
def test_restore_refuses_while_a_server_holds_the_database_open(
    client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    archive = tmp_path / "krat.backup"
    assert runner.invoke(cli, ["backup", "--out", str(archive)]).exit_code == 0
    _add_municipality(client, admin, "Bashkia Durrës")

    result = runner.invoke(cli, ["restore", "--yes", str(archive)])

    assert result.exit_code == 1
    assert "stop every `krat serve` process" in result.stderr
    assert client.get(f"{API}/institutions", headers=admin).json()["total"] == 1


def _sqlite_file_with(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()


def _other_revision(path: Path) -> None:
    """Write, at `path`, a SQLite database at a migration revision no krat-tracker made."""
    _sqlite_file_with(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "INSERT INTO alembic_version VALUES ('ffffffffffff')",
    )


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("text", "is not a SQLite database"),
        ("empty sqlite", "is not a krat-tracker backup"),
        ("other revision", "is at migration ffffffffffff"),
        ("pg_dump", "is a pg_dump backup"),
    ],
)
def test_restore_refuses_what_is_not_a_backup_of_this_version(
    client: TestClient, admin: dict[str, str], tmp_path: Path, kind: str, message: str
) -> None:
    _add_municipality(client, admin, "Bashkia Durrës")
    folder = tmp_path / "backups"
    folder.mkdir()
    candidate = folder / "candidate"
    if kind == "text":
        candidate.write_text("Takim me Tryezën Teknike KRAT\n")
    elif kind == "empty sqlite":
        _sqlite_file_with(candidate, "CREATE TABLE note (text TEXT)")
    elif kind == "other revision":
        _other_revision(candidate)
    else:
        candidate.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(64))
    _restart()
    database = _sqlite_file(get_settings().database_url)
    siblings = sorted(p.name for p in database.parent.iterdir())

    result = runner.invoke(cli, ["restore", "--yes", str(candidate)])

    assert result.exit_code == 1
    assert message in result.stderr
    # No half-written temporary file is left beside the database.
    assert sorted(p.name for p in database.parent.iterdir()) == siblings
    assert client.get(f"{API}/institutions", headers=admin).json()["total"] == 1


# --- PostgreSQL: pg_dump and pg_restore --------------------------------------------------------


@POSTGRES_ONLY
def test_backup_without_pg_dump_explains_what_to_run(
    configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    archive = tmp_path / "krat.backup"

    result = runner.invoke(cli, ["backup", "--out", str(archive)])

    assert result.exit_code == 1
    assert "pg_dump is not on PATH" in result.stderr
    assert "pg_dump --format=custom --no-owner --file FILE URL" in result.stderr
    assert not archive.exists()


def test_backup_help_says_postgresql_is_backed_up_with_pg_dump() -> None:
    result = runner.invoke(cli, ["backup", "--help"])
    assert result.exit_code == 0
    assert "pg_dump" in result.output and "pg_restore" in result.output


@POSTGRES_ONLY
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("text", "is not a pg_dump archive"),
        ("sqlite", "is a SQLite backup"),
        ("other revision", "is at migration ffffffffffff"),
    ],
)
def test_postgres_restore_refuses_what_is_not_a_backup_of_this_version(
    client: TestClient,
    admin: dict[str, str],
    configured: str,
    tmp_path: Path,
    kind: str,
    message: str,
) -> None:
    _add_municipality(client, admin, "Bashkia Durrës")
    candidate = tmp_path / "candidate"
    if kind == "text":
        candidate.write_text("Takim me Tryezën Teknike KRAT\n")
    elif kind == "sqlite":
        _other_revision(candidate)
    else:
        engine = create_engine(configured)
        head = migrations.head_revision()
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        try:
            assert runner.invoke(cli, ["backup", "--out", str(candidate)]).exit_code == 0
        finally:
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
            engine.dispose()

    result = runner.invoke(cli, ["restore", "--yes", str(candidate)])

    assert result.exit_code == 1
    assert message in result.stderr
    assert client.get(f"{API}/institutions", headers=admin).json()["total"] == 1
