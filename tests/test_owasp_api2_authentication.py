"""OWASP API2:2023, broken authentication: tokens, and nothing but tokens, open the API.

Every route of the application except the public ones (`owasp_world.PUBLIC_PATHS`: health,
readiness, metrics, docs) answers 401 with `WWW-Authenticate: Bearer` to a missing, malformed,
unknown or revoked token, and changes nothing. The development admin token is compared in
constant time, and API tokens are stored only as their SHA-256.
"""

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from owasp_world import PUBLIC_PATHS, app_routes, database_fingerprint, protected_routes
from sqlmodel import Session, select

from app import auth
from app.main import create_app
from app.models import ApiToken

from factories import make_token

PROTECTED = protected_routes(create_app())

BAD_CREDENTIALS: dict[str, dict[str, bytes]] = {
    "missing": {},
    "empty": {"Authorization": b""},
    "scheme only": {"Authorization": b"Bearer"},
    "empty token": {"Authorization": b"Bearer "},
    "no Bearer scheme": {"Authorization": b"krat_abcdefghijklmnopqrstuvwxyz012345678901234"},
    "basic scheme": {"Authorization": b"Basic YWRtaW46YWRtaW4="},
    "non-ascii token": {"Authorization": "Bearer krat_tökën-ë-çelës".encode()},
    "not utf-8": {"Authorization": b"Bearer krat_\xff\xfe\xfd"},
    "unknown token": {"Authorization": b"Bearer krat_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"},
    "admin token with a suffix": {"Authorization": b"Bearer test-admin-token-x"},
    "admin token's prefix": {"Authorization": b"Bearer test-admin-toke"},
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_public_routes_are_only_health_readiness_metrics_and_docs() -> None:
    public = {route.path for route in app_routes(create_app())} - {r.path for r in PROTECTED}
    assert public <= PUBLIC_PATHS
    assert len(PROTECTED) > 30, "the route enumeration found too few routes"


def _assert_401(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, (what, response.status_code, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer"), what
    assert response.headers["content-type"] == "application/problem+json", what
    assert response.json()["type"].endswith("/unauthorized"), what


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS))
def test_every_protected_route_answers_401_to_bad_credentials(
    client: TestClient, credentials: str
) -> None:
    before = database_fingerprint()

    for route in PROTECTED:
        response = client.request(
            route.method, _concrete(route.path), headers=BAD_CREDENTIALS[credentials]
        )
        _assert_401(response, route.key)
    assert database_fingerprint() == before


def test_every_protected_route_answers_401_to_a_token_revoked_through_the_api(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "paneli-i-vjeter", "role": "reader"}, headers=admin
    )
    assert created.status_code == 201
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get("/api/v1/regions", headers=headers).status_code == 200

    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204

    for route in PROTECTED:
        _assert_401(client.request(route.method, _concrete(route.path), headers=headers), route.key)


def test_the_admin_token_is_compared_in_constant_time(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def recording_compare_digest(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording_compare_digest)

    assert client.get("/api/v1/regions", headers=admin).status_code == 200
    wrong = {"Authorization": "Bearer test-admin-tokem"}
    assert client.get("/api/v1/regions", headers=wrong).status_code == 401

    assert calls == [
        (b"test-admin-token", b"test-admin-token"),
        (b"test-admin-tokem", b"test-admin-token"),
    ]


def test_the_admin_token_is_not_compared_with_equality() -> None:
    source = Path(auth.__file__).read_text(encoding="utf-8")
    assert "hmac.compare_digest(" in source
    assert not re.search(r"admin_token\s*==|==\s*admin_token", source)


def test_tokens_are_stored_only_as_their_sha256(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={"name": "sekretariati-durres", "role": "secretariat", "region": "AL-02"},
        headers=admin,
    )
    assert created.status_code == 201
    token = created.json()["token"]
    by_factory = make_token(db, "reader", name="paneli-kombetar")["Authorization"].split()[1]
    db.commit()

    stored = {row.name: row.token_hash for row in db.exec(select(ApiToken)).all()}
    assert stored["sekretariati-durres"] == hashlib.sha256(token.encode()).hexdigest()
    assert stored["paneli-kombetar"] == hashlib.sha256(by_factory.encode()).hexdigest()
    everything = repr(database_fingerprint())
    assert token not in everything
    assert by_factory not in everything
    assert token[5:] not in everything  # not even without its prefix


def test_a_token_is_shown_once_and_never_cached(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "paneli-rajonal", "role": "reader"}, headers=admin
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    token = created.json()["token"]

    listed = client.get("/api/v1/tokens", headers=admin)
    assert listed.status_code == 200
    assert token not in listed.text
    audit = client.get("/api/v1/audit-events?entity=api_token", headers=admin)
    assert audit.status_code == 200
    assert audit.json()["total"] == 1
    assert token not in audit.text
