"""OWASP API8:2023, security misconfiguration: CORS, headers, docs, errors, server banner."""

import io
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.auth import CurrentActor
from app.cli import app as cli
from app.config import get_settings
from app.observability import JsonFormatter

ROOT = Path(__file__).resolve().parent.parent
KRAT = str(Path(sys.executable).parent / "krat")
API = "/api/v1"
ADMIN_TOKEN = "test-admin-token"
_RUNNING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
DASHBOARD = "https://dashboard.example"
# The methods and headers README/SECURITY.md document for browser clients.
CORS_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
CORS_HEADERS = {"authorization", "content-type", "if-match", "if-none-match", "x-request-id"}
CORS_EXPOSED = {"etag", "link", "location", "x-request-id"}
SECRET = "Viktima Arbëri nga Durrësi, fjalëkalimi hunter2"


def _app_client(monkeypatch: pytest.MonkeyPatch, **settings: str) -> TestClient:
    """A client of an application built with the given KRAT_ settings."""
    from app.main import create_app

    for name, value in settings.items():
        monkeypatch.setenv(f"KRAT_{name.upper()}", value)
    get_settings.cache_clear()
    return TestClient(create_app(), base_url="http://testserver")


@pytest.fixture
def cors_client(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of an application that lets the dashboard's origin call it from a browser."""
    with _app_client(monkeypatch, cors_origins=f'["{DASHBOARD}"]') as client:
        yield client


def _preflight(client: TestClient, origin: str, method: str = "PATCH") -> Any:
    return client.options(
        f"{API}/recommendations/1",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, if-match, content-type",
        },
    )


def _listed(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",")}


def test_a_preflight_from_an_allowed_origin_gets_the_documented_methods_and_headers(
    cors_client: TestClient,
) -> None:
    response = _preflight(cors_client, DASHBOARD)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert {m.upper() for m in _listed(response.headers["access-control-allow-methods"])} >= (
        CORS_METHODS
    )
    assert _listed(response.headers["access-control-allow-headers"]) >= CORS_HEADERS
    # Bearer tokens, not cookies: a browser is never told to send credentials.
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_from_another_origin_is_refused(cors_client: TestClient) -> None:
    for origin in ("https://evil.example", "https://dashboard.example.evil.example", "null"):
        response = _preflight(cors_client, origin)
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers


def test_a_method_outside_the_list_is_refused_to_an_allowed_origin(
    cors_client: TestClient,
) -> None:
    response = _preflight(cors_client, DASHBOARD, method="TRACE")
    assert response.status_code == 400


def test_an_allowed_origin_may_read_the_documented_response_headers(
    cors_client: TestClient, admin: dict[str, str]
) -> None:
    response = cors_client.get(f"{API}/regions", headers={**admin, "Origin": DASHBOARD})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert _listed(response.headers["access-control-expose-headers"]) == CORS_EXPOSED
    other = cors_client.get(f"{API}/regions", headers={**admin, "Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


def test_without_configured_origins_no_cors_header_is_ever_sent(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert get_settings().cors_origins == []
    preflight = _preflight(client, DASHBOARD)
    simple = client.get(f"{API}/regions", headers={**admin, "Origin": DASHBOARD})

    assert preflight.status_code == 405
    assert simple.status_code == 200
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/regions", 200),
        ("GET", f"{API}/institutions", 401),
        ("GET", f"{API}/institutions/987654", 404),
        ("GET", f"{API}/institutions?limit=0", 422),
        ("POST", f"{API}/institutions", 422),
        ("DELETE", f"{API}/regions", 405),
    ],
)
def test_every_api_response_carries_the_security_headers(
    client: TestClient, admin: dict[str, str], method: str, path: str, status: int
) -> None:
    headers = admin if status != 401 else {}

    response = client.request(method, path, headers=headers)

    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_docs_are_served_by_default(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_docs_can_be_switched_off(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with _app_client(monkeypatch, docs_enabled="false") as client:
        for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/healthz").status_code == 200


def _explode(_actor: CurrentActor) -> None:
    raise RuntimeError(f"cannot connect as postgres:hunter2 while storing {SECRET!r}")


@pytest.fixture
def failing(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, io.StringIO]]:
    """A client of an application with a route that fails, and what its log handler writes."""
    from app.main import create_app

    app = create_app()
    app.add_api_route(f"{API}/explode", _explode)
    stream = io.StringIO()
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    monkeypatch.setattr(handler, "stream", stream)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, stream


def test_a_500_shows_no_stack_trace_or_exception_text(
    failing: tuple[TestClient, io.StringIO], admin: dict[str, str]
) -> None:
    client, stream = failing

    response = client.get(f"{API}/explode", headers=admin)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    for leaked in (SECRET, "hunter2", "cannot connect", "RuntimeError", "Traceback", 'File "'):
        assert leaked not in response.text
    # The log names the error's type, for the operator, and nothing it said.
    logged = stream.getvalue()
    assert '"error_type":"RuntimeError"' in logged
    for leaked in (SECRET, "hunter2", "cannot connect", "Traceback"):
        assert leaked not in logged
    assert not client.app.debug  # type: ignore[attr-defined]


def test_krat_serve_sends_no_server_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("app.cli.uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))

    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert calls[0]["server_header"] is False
    assert calls[0]["access_log"] is False


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


# Response headers do not depend on the database engine: one real server is enough.
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_real_server_names_no_software_in_its_headers(configured: str, tmp_path: Path) -> None:
    with (
        _real_server(configured, tmp_path / "serve.log") as base,
        urllib.request.urlopen(f"{base}/healthz", timeout=10) as response,
    ):
        status = response.status
        headers = {name.lower(): value for name, value in response.headers.items()}

    assert status == 200
    assert "server" not in headers
    assert headers["x-content-type-options"] == "nosniff"
