"""Health, readiness, metrics, request ids, security headers and the body-size limit."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import auth
from app.config import get_settings
from app.db import get_engine
from app.regions import service as regions

MAX_BODY = 2_000


def _fresh_app_client() -> TestClient:
    from app.main import create_app

    return TestClient(create_app(), base_url="http://testserver")


def _reset_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    regions.clear_cache()
    auth.token_cache.clear()


@pytest.fixture
def unmigrated_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of an application whose database file was never migrated."""
    monkeypatch.setenv("KRAT_DATABASE_URL", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    _reset_caches()
    with _fresh_app_client() as test_client:
        yield test_client
    get_engine().dispose()
    _reset_caches()


@pytest.fixture
def small_body_client(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of an application that accepts request bodies of at most MAX_BODY bytes."""
    monkeypatch.setenv("KRAT_MAX_BODY_BYTES", str(MAX_BODY))
    get_settings.cache_clear()
    with _fresh_app_client() as test_client:
        yield test_client


def test_healthz_answers_without_authentication(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_is_at_head(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_unavailable_when_the_database_is_not_migrated(
    unmigrated_client: TestClient,
) -> None:
    response = unmigrated_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert unmigrated_client.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_template(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.get("/api/v1/institutions/987654", headers=admin)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "krat_http_requests_total" in response.text
    assert "krat_http_request_duration_seconds" in response.text
    assert 'route="/api/v1/institutions/{institution_id}",status="404"' in response.text
    assert "987654" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/regions", 200),
        ("GET", "/api/v1/regions-typo", 404),
        ("GET", "/api/v1/institutions/987654", 404),
        ("GET", "/api/v1/institutions?limit=0", 422),
        ("POST", "/api/v1/institutions", 422),
        ("DELETE", "/api/v1/regions", 405),
    ],
)
def test_every_response_echoes_the_request_id(
    client: TestClient, admin: dict[str, str], method: str, path: str, status: int
) -> None:
    response = client.request(method, path, headers={**admin, "X-Request-ID": "sekr-2017-10-27"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "sekr-2017-10-27"


def test_a_request_id_is_made_when_none_or_an_unsafe_one_is_sent(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first and second and first != second

    unsafe = client.get("/healthz", headers={"X-Request-ID": "a b<script>" + "x" * 80})
    assert unsafe.headers["x-request-id"]
    assert "<" not in unsafe.headers["x-request-id"]
    assert len(unsafe.headers["x-request-id"]) <= 64


def test_unauthorized_responses_carry_a_request_id_too(client: TestClient) -> None:
    response = client.get("/api/v1/institutions", headers={"X-Request-ID": "no-token-1"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "no-token-1"


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/regions", "/api/v1/nowhere"])
def test_responses_carry_security_headers(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=admin)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_api_responses_forbid_active_content(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/regions", headers=admin)
    assert "default-src 'none'" in response.headers["content-security-policy"]


def _big_document() -> bytes:
    name = "Drejtoria Vendore e Policisë Durrës " * 100
    return f'{{"name": "{name}", "kind": "police", "region": "AL-02"}}'.encode()


def test_a_body_declared_too_large_gets_413(
    small_body_client: TestClient, admin: dict[str, str]
) -> None:
    document = _big_document()
    assert len(document) > MAX_BODY

    response = small_body_client.post(
        "/api/v1/institutions",
        content=document,
        headers={**admin, "Content-Type": "application/json", "X-Request-ID": "big-1"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert response.headers["x-request-id"] == "big-1"
    listed = small_body_client.get("/api/v1/institutions", headers=admin)
    assert listed.json()["total"] == 0


def test_a_chunked_body_growing_too_large_gets_413(
    small_body_client: TestClient, admin: dict[str, str]
) -> None:
    document = _big_document()

    def chunks() -> Iterator[bytes]:
        # A generator body has no Content-Length: it is sent chunked, and the limit has to be
        # enforced while reading.
        for start in range(0, len(document), 256):
            yield document[start : start + 256]

    response = small_body_client.post(
        "/api/v1/institutions",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    listed = small_body_client.get("/api/v1/institutions", headers=admin)
    assert listed.json()["total"] == 0


def test_a_body_under_the_limit_is_accepted(
    small_body_client: TestClient, admin: dict[str, str]
) -> None:
    response = small_body_client.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Durrës", "kind": "municipality", "region": "AL-02"},
        headers=admin,
    )
    assert response.status_code == 201
