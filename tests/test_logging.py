"""Logs: one JSON line per request with its id, actor, route and status; never stored text."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from app.auth import CurrentActor
from app.cli import app as cli
from app.observability import JsonFormatter

from factories import make_durres_table, make_token, minutes_document

ROOT = Path(__file__).resolve().parent.parent
KRAT = str(Path(sys.executable).parent / "krat")
API = "/api/v1"
ADMIN_TOKEN = "test-admin-token"
_RUNNING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")

# Free text a secretariat submits; each carries a marker no route, id or header could contain.
INSTITUTION = "Qendra Mbështetëse Lulëkuqja-QX41 Durrës"
TITLE = "Takim i jashtëzakonshëm për rastin Zambaku-QX42"
SUMMARY = "Viktima e mitur nga fshati Bregu-QX43 u referua te shërbimi social."
DESCRIPTION = "Familja e Artës Hoxha-QX44 nuk pranon ndihmë nga bashkia."
RECOMMENDATION = "Strehimi i menjëhershëm i viktimës Dritë-QX45 në qendrën e emergjencës."
CHAIR = "Agim Kështjella-QX46"
SEARCH = "Zambaku-QX47"
SECRET_500 = "Viktima Arbëri-QX48 nga Durrësi"
FREE_TEXT = [INSTITUTION, TITLE, SUMMARY, DESCRIPTION, RECOMMENDATION, CHAIR, SEARCH, SECRET_500]
MARKERS = [f"QX4{n}" for n in range(1, 9)]


def _explode(_actor: CurrentActor) -> None:
    raise RuntimeError(f"could not store {SECRET_500!r}")


def _json_handler() -> logging.Handler:
    handlers = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(handlers) == 1, "create_app installs one JSON handler on the root logger"
    return handlers[0]


@pytest.fixture
def logged(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, io.StringIO]]:
    """A client of a fresh application, and everything its log handler writes."""
    from app.main import create_app

    app = create_app()  # configure_logging: the JSON handler on the root logger
    app.add_api_route(f"{API}/explode", _explode)
    stream = io.StringIO()
    handler = _json_handler()
    monkeypatch.setattr(handler, "stream", stream)
    # The test client's own logger prints whole URLs; it is a client, not part of the service.
    for name in ("httpx", "httpx2"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Parse every line the handler wrote; each must be one JSON object."""
    entries = []
    for line in stream.getvalue().splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict)
        assert {"ts", "level", "logger", "msg"} <= set(entry)
        entries.append(entry)
    return entries


def _access(entries: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    found = [e for e in entries if e["logger"] == "krat.access" and e["request_id"] == request_id]
    assert len(found) == 1, f"one access line for {request_id}"
    return found[0]


def _assert_no_free_text(text: str) -> None:
    for secret in [*FREE_TEXT, *MARKERS]:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text  # nor its \u-escaped form


def _document() -> dict[str, Any]:
    document = minutes_document(title=TITLE, summary=SUMMARY)
    document["chair"]["name"] = CHAIR
    document["problems"][0]["description"] = DESCRIPTION
    document["recommendations"][0]["text"] = RECOMMENDATION
    return document


def test_access_log_has_request_id_actor_route_and_status_but_no_submitted_text(
    logged: tuple[TestClient, io.StringIO], db: Session
) -> None:
    client, stream = logged
    make_durres_table(db)
    secretariat = make_token(db, "secretariat", region="AL-02", name="sekretariati-durres")
    db.commit()

    institution = client.post(
        f"{API}/institutions",
        json={"name": INSTITUTION, "kind": "ngo", "region": "AL-02"},
        headers={**secretariat, "X-Request-ID": "req-institution"},
    )
    meeting = client.post(
        f"{API}/meetings",
        json=_document(),
        headers={**secretariat, "X-Request-ID": "req-minutes"},
    )
    invalid = client.post(
        f"{API}/meetings",
        json={**_document(), "held_on": "2017-13-45", "external_ref": "DR-TT-X"},
        headers={**secretariat, "X-Request-ID": "req-invalid"},
    )
    searches = [
        client.get(f"{API}/recommendations", params={"q": SEARCH}, headers=secretariat),
        client.get(f"{API}/meetings", params={"q": SEARCH}, headers=secretariat),
        client.get(
            f"{API}/institutions?q={quote(INSTITUTION)}",
            headers={**secretariat, "X-Request-ID": "req-search"},
        ),
    ]
    read = client.get(
        f"{API}/meetings/{meeting.json()['id']}",
        headers={**secretariat, "X-Request-ID": "req-read"},
    )

    assert institution.status_code == 201
    assert meeting.status_code == 201
    assert invalid.status_code == 422
    assert [s.status_code for s in searches] == [200, 200, 200]
    assert read.status_code == 200 and SUMMARY in read.text
    text = stream.getvalue()
    _assert_no_free_text(text)
    entries = _lines(stream)
    posted = _access(entries, "req-minutes")
    assert posted["actor"] == "sekretariati-durres"
    assert (posted["method"], posted["route"], posted["status"]) == (
        "POST",
        f"{API}/meetings",
        201,
    )
    assert isinstance(posted["duration_ms"], float | int) and posted["duration_ms"] >= 0
    assert _access(entries, "req-invalid")["status"] == 422
    assert _access(entries, "req-search")["route"] == f"{API}/institutions"
    # Ids in paths are logged as the route's template, not as the id.
    assert _access(entries, "req-read")["route"] == f"{API}/meetings/{{meeting_id}}"
    assert _access(entries, "req-institution")["actor"] == "sekretariati-durres"


def test_an_unauthenticated_request_is_logged_without_an_actor(
    logged: tuple[TestClient, io.StringIO],
) -> None:
    client, stream = logged
    response = client.get(f"{API}/institutions", headers={"X-Request-ID": "req-anonymous"})
    assert response.status_code == 401
    entry = _access(_lines(stream), "req-anonymous")
    assert entry["actor"] is None and entry["status"] == 401


def test_an_unexpected_error_is_logged_by_its_type_only(
    logged: tuple[TestClient, io.StringIO], admin: dict[str, str]
) -> None:
    client, stream = logged

    response = client.get(f"{API}/explode", headers={**admin, "X-Request-ID": "req-500"})

    assert response.status_code == 500
    assert SECRET_500 not in response.text
    text = stream.getvalue()
    _assert_no_free_text(text)
    assert "Traceback" not in text and "could not store" not in text
    entries = _lines(stream)
    errors = [e for e in entries if e["level"] == "ERROR"]
    assert [(e["error_type"], e["path"]) for e in errors] == [("RuntimeError", f"{API}/explode")]
    access = _access(entries, "req-500")
    assert (access["status"], access["actor"]) == (500, "admin-token")


def test_a_logged_traceback_loses_its_exception_text() -> None:
    """Uvicorn logs an unhandled error with exc_info; the JSON line keeps the message only."""
    try:
        raise RuntimeError(f"could not store {SECRET_500!r}")
    except RuntimeError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), None
        )
        record.exc_info = sys.exc_info()

    line = JsonFormatter().format(record)

    assert json.loads(line)["msg"] == "Exception in ASGI application"
    assert SECRET_500 not in line and "Traceback" not in line


def test_uvicorn_access_log_is_off_in_the_app_and_in_krat_serve(
    logged: tuple[TestClient, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Uvicorn's access log prints the full URL, query string (q=…) included.
    assert logging.getLogger("uvicorn.access").disabled
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("app.cli.uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))

    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert calls[0]["access_log"] is False
    # No logging config of uvicorn's own: its loggers reach the JSON handler.
    assert calls[0]["log_config"] is None


@contextmanager
def _real_server(database_url: str, log_path: Path) -> Iterator[str]:
    """Run `krat serve` on a port the system picks; yield its base URL; stop it after."""
    env = {**os.environ, "KRAT_DATABASE_URL": database_url, "KRAT_ADMIN_TOKEN": ADMIN_TOKEN}
    command = [KRAT, "serve", "--host", "127.0.0.1", "--port", "0"]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not (found := _RUNNING.search(log_path.read_text(errors="replace"))):
                alive = server.poll() is None and time.monotonic() < deadline
                assert alive, log_path.read_text()
                time.sleep(0.1)
            yield found.group(1)
        finally:
            server.terminate()
            server.wait(timeout=15)


def _call(url: str, *, method: str = "GET", body: Any = None, request_id: str) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# What the logs hold does not depend on the database engine: one real server is enough.
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_real_server_writes_json_lines_without_query_strings_or_text(
    configured: str, tmp_path: Path
) -> None:
    with _real_server(configured, tmp_path / "serve.log") as base:
        created = _call(
            f"{base}{API}/institutions",
            method="POST",
            body={"name": INSTITUTION, "kind": "ngo", "region": "AL-02"},
            request_id="real-post",
        )
        searched = _call(f"{base}{API}/institutions?q={quote(SEARCH)}", request_id="real-search")

    assert (created, searched) == (201, 200)
    text = (tmp_path / "serve.log").read_text()
    _assert_no_free_text(text)
    # The start-up banner is plain text; everything the service logs is one JSON object a line.
    banner = ("krat-tracker on", "authenticate with")
    entries = [json.loads(line) for line in text.splitlines() if not line.startswith(banner)]
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    by_id = {e.get("request_id"): e for e in entries if e["logger"] == "krat.access"}
    assert by_id["real-post"]["actor"] == "admin-token"
    assert (by_id["real-search"]["route"], by_id["real-search"]["status"]) == (
        f"{API}/institutions",
        200,
    )
