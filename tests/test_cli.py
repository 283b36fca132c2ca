"""The `krat` command: tokens, demo data, and the Dockerfile's own commands run for real."""

import csv
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app import auth, migrations
from app.cli import app as cli
from app.models import ApiToken, AuditEvent, Body, Institution, Membership

ROOT = Path(__file__).resolve().parent.parent
KRAT = str(Path(sys.executable).parent / "krat")
runner = CliRunner()


def test_tokens_create_prints_the_token_alone_and_it_authenticates(
    client: TestClient, db: Session
) -> None:
    result = runner.invoke(
        cli,
        ["tokens", "create", "--name", "sek-durres", "--role", "secretariat", "--region", "AL-02"],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"krat_[A-Za-z0-9_-]{40,}", token)
    stored = db.exec(select(ApiToken).where(ApiToken.name == "sek-durres")).one()
    assert stored.token_hash != token and token not in stored.token_hash
    response = client.get("/api/v1/regions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_tokens_create_refuses_a_secretariat_without_region(configured: str) -> None:
    result = runner.invoke(cli, ["tokens", "create", "--name", "x", "--role", "secretariat"])
    assert result.exit_code == 2
    assert "/region" in result.stderr
    assert result.stdout == ""


def test_revoked_token_is_refused(client: TestClient, db: Session) -> None:
    created = runner.invoke(cli, ["tokens", "create", "--name", "lexues", "--role", "reader"])
    headers = {"Authorization": f"Bearer {created.stdout.strip()}"}
    assert client.get("/api/v1/regions", headers=headers).status_code == 200
    result = runner.invoke(cli, ["tokens", "revoke", "lexues"])
    assert result.exit_code == 0, result.output
    # The revoke ran in this process and cleared its cache; other processes wait ≤ 5 s.
    auth.token_cache.clear()
    assert client.get("/api/v1/regions", headers=headers).status_code == 401
    listed = runner.invoke(cli, ["tokens", "list"])
    assert "lexues\treader\t-" in listed.stdout and "revoked" in listed.stdout


def test_demo_loads_every_region_once_and_is_audited(configured: str, db: Session) -> None:
    first = runner.invoke(cli, ["demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["demo", "--if-empty"])
    assert second.exit_code == 0
    assert "nothing loaded" in second.stderr
    bodies = db.exec(select(Body)).all()
    assert len(bodies) == 24
    assert {b.name for b in bodies} >= {
        "Tryeza Teknike Durrës",
        "Komiteti Rajonal Antitrafik Shkodër",
    }
    committees = {b.region_id: b.id for b in bodies if b.kind == "committee"}
    assert all(
        b.parent_id == committees[b.region_id] for b in bodies if b.kind == "technical_table"
    )
    zvap = db.exec(
        select(Institution).where(
            Institution.name == "Zyra Vendore e Arsimit Parauniversitar Durrës"
        )
    ).one()
    assert zvap.abbreviation == "ZVAP" and zvap.level == "regional"
    seats = db.exec(select(func.count()).select_from(Membership)).one()
    assert seats > 24 * 10
    events = db.exec(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "demo")
    ).one()
    assert events >= db.exec(select(func.count()).select_from(Institution)).one()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dockerfile_healthcheck() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s+CMD (\[.*\])", text)
    assert match, "the Dockerfile has a HEALTHCHECK with an exec-form CMD"
    return list(json.loads(match.group(1)))


@pytest.mark.slow
def test_dockerfile_commands_migrate_serve_and_pass_the_healthcheck(
    configured: str, tmp_path: Path
) -> None:
    """Run what the image runs: `krat db upgrade`, `krat serve`, then the HEALTHCHECK probe."""
    port = _free_port()
    env = {**os.environ, "KRAT_DATABASE_URL": configured}
    upgrade = subprocess.run([KRAT, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True)
    assert upgrade.returncode == 0, upgrade.stderr
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [KRAT, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    probe = [sys.executable if arg == "python" else arg for arg in _dockerfile_healthcheck()]
    probe = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in probe]
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and not healthy:
            healthy = subprocess.run(probe, capture_output=True).returncode == 0
            if not healthy:
                time.sleep(0.3)
        assert healthy, "the HEALTHCHECK command never succeeded: " + shlex.join(probe)
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


def test_export_recommendations_writes_what_the_api_lists(
    client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["demo"]).exit_code == 0
    listed = client.get("/api/v1/recommendations", params={"region": "AL-02"}, headers=admin)
    assert listed.status_code == 200
    expected = listed.json()["items"]
    assert expected, "the demo minutes include Durrës recommendations"

    out = tmp_path / "rekomandimet.csv"
    result = runner.invoke(
        cli, ["export", "recommendations", "--region", "AL-02", "--lang", "sq", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["ID"]) for r in rows] == [item["id"] for item in expected]
    assert rows[0]["Rekomandimi"] == expected[0]["text"]
    assert {r["Statusi"] for r in rows} <= {"E hapur", "Në zbatim", "E zbatuar", "E tërhequr"}

    as_json = tmp_path / "rekomandimet.json"
    result = runner.invoke(
        cli,
        [
            "export",
            "recommendations",
            "--region",
            "AL-02",
            "--format",
            "json",
            "--out",
            str(as_json),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(as_json.read_text(encoding="utf-8")) == expected


def test_export_recommendations_rejects_an_unknown_region(configured: str) -> None:
    result = runner.invoke(cli, ["export", "recommendations", "--region", "AL-99", "--out", "-"])
    assert result.exit_code == 1
    assert "no region AL-99" in result.stderr


def test_db_upgrade_creates_the_folder_of_a_new_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` on a fresh checkout migrates into ./data/, which does not exist yet."""
    from app.config import get_settings
    from app.db import get_engine

    target = tmp_path / "data" / "krat.db"
    monkeypatch.setenv("KRAT_DATABASE_URL", f"sqlite:///{target}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = runner.invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert target.is_file()
        current = runner.invoke(cli, ["db", "current"])
        assert current.stdout.strip() == migrations.head_revision()
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
