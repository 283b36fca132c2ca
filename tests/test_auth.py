"""Who may write what: the role × region matrix, and 401 for every kind of missing token."""

from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app import auth
from app.models import ApiToken, AuditEvent, utcnow

from factories import make_body, make_institution, make_token


@dataclass(frozen=True)
class World:
    """Durrës (AL-02) records, a national institution, and Shkodër's (AL-10) committee."""

    institution_id: int
    national_id: int
    committee_id: int
    shkoder_committee_id: int
    shkoder_institution_id: int


@pytest.fixture
def world(db: Session) -> World:
    police = make_institution(db, name="Drejtoria Vendore e Policisë Durrës", region="AL-02")
    national = make_institution(
        db,
        name="Organizata Ndërkombëtare për Migracionin",
        abbreviation="IOM",
        kind="international",
        region=None,
    )
    committee = make_body(
        db, kind="committee", region="AL-02", name="Komiteti Rajonal Antitrafik Durrës"
    )
    shkoder = make_body(
        db, kind="committee", region="AL-10", name="Komiteti Rajonal Antitrafik Shkodër"
    )
    shkoder_police = make_institution(
        db, name="Drejtoria Vendore e Policisë Shkodër", region="AL-10"
    )
    db.commit()
    return World(
        police.id or 0, national.id or 0, committee.id or 0, shkoder.id or 0, shkoder_police.id or 0
    )


Write = Callable[[TestClient, dict[str, str], World], httpx2.Response]

# Every write of the foundation, each aimed at a Durrës (AL-02) record.
DURRES_WRITES: dict[str, Write] = {
    "create institution": lambda c, h, w: c.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Shijak", "kind": "municipality", "region": "AL-02"},
        headers=h,
    ),
    "patch institution": lambda c, h, w: c.patch(
        f"/api/v1/institutions/{w.institution_id}", json={"abbreviation": "DVP"}, headers=h
    ),
    "create body": lambda c, h, w: c.post(
        "/api/v1/bodies",
        json={
            "kind": "technical_table",
            "region": "AL-02",
            "name": "Tryeza Teknike Durrës",
            "parent_id": w.committee_id,
        },
        headers=h,
    ),
    "patch body": lambda c, h, w: c.patch(
        f"/api/v1/bodies/{w.committee_id}", json={"name": "KRAT Durrës"}, headers=h
    ),
    "put members": lambda c, h, w: c.put(
        f"/api/v1/bodies/{w.committee_id}/members",
        json=[{"institution": w.institution_id, "role": "member"}],
        headers=h,
    ),
}

NATIONAL_WRITES: dict[str, Write] = {
    "create national institution": lambda c, h, w: c.post(
        "/api/v1/institutions",
        json={"name": "UNICEF Albania", "kind": "international"},
        headers=h,
    ),
    "patch national institution": lambda c, h, w: c.patch(
        f"/api/v1/institutions/{w.national_id}", json={"active": False}, headers=h
    ),
}


def _headers(db: Session, who: str, world: World) -> dict[str, str]:
    if who == "institution":
        headers = make_token(db, "institution", institution_id=world.institution_id)
    elif who.startswith("secretariat "):
        headers = make_token(db, "secretariat", region=who.removeprefix("secretariat "))
    else:
        headers = make_token(db, who)
    db.commit()
    return headers


def _audit_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(AuditEvent)).one()


@pytest.mark.parametrize("write", list(DURRES_WRITES))
@pytest.mark.parametrize("who", ["secretariat AL-10", "reader", "institution"])
def test_only_durres_and_admin_may_write_durres_records(
    client: TestClient, db: Session, world: World, who: str, write: str
) -> None:
    headers = _headers(db, who, world)
    before = client.get(f"/api/v1/bodies/{world.committee_id}", headers=headers).json()

    response = DURRES_WRITES[write](client, headers, world)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 403
    assert _audit_count(db) == 0
    after = client.get(f"/api/v1/bodies/{world.committee_id}", headers=headers).json()
    assert after == before
    members = client.get(f"/api/v1/bodies/{world.committee_id}/members", headers=headers).json()
    assert members["total"] == 0


@pytest.mark.parametrize("write", list(DURRES_WRITES))
@pytest.mark.parametrize("who", ["admin", "secretariat AL-02"])
def test_admin_and_the_regions_secretariat_may_write_its_records(
    client: TestClient, db: Session, world: World, who: str, write: str
) -> None:
    headers = _headers(db, who, world)

    response = DURRES_WRITES[write](client, headers, world)

    assert response.status_code in {200, 201}, response.json()
    assert _audit_count(db) == 1


@pytest.mark.parametrize("write", list(NATIONAL_WRITES))
@pytest.mark.parametrize("who", ["secretariat AL-02", "reader", "institution"])
def test_national_institutions_are_written_by_admin_only(
    client: TestClient, db: Session, world: World, admin: dict[str, str], who: str, write: str
) -> None:
    response = NATIONAL_WRITES[write](client, _headers(db, who, world), world)
    assert response.status_code == 403
    assert _audit_count(db) == 0

    response = NATIONAL_WRITES[write](client, admin, world)
    assert response.status_code in {200, 201}, response.json()


def test_secretariat_cannot_attach_its_body_to_another_regions_committee(
    client: TestClient, db: Session, world: World
) -> None:
    shkoder = _headers(db, "secretariat AL-10", world)
    create = client.post(
        "/api/v1/bodies",
        json={
            "kind": "technical_table",
            "region": "AL-10",
            "name": "Tryeza Teknike Shkodër",
            "parent_id": world.committee_id,
        },
        headers=shkoder,
    )
    assert create.status_code == 422
    assert [e["pointer"] for e in create.json()["errors"]] == ["/parent_id"]

    members = client.put(
        f"/api/v1/bodies/{world.shkoder_committee_id}/members",
        json=[{"institution": world.institution_id}, {"institution": world.shkoder_institution_id}],
        headers=shkoder,
    )
    assert members.status_code == 422
    assert [e["pointer"] for e in members.json()["errors"]] == ["/0/institution"]
    assert _audit_count(db) == 0


def test_secretariat_may_not_move_a_record_out_of_its_region(
    client: TestClient, db: Session, world: World
) -> None:
    durres = _headers(db, "secretariat AL-02", world)
    response = client.patch(
        f"/api/v1/institutions/{world.institution_id}", json={"region": "AL-10"}, headers=durres
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/region"

    response = client.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Shkodër", "kind": "municipality", "region": "AL-10"},
        headers=durres,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "krat_not-a-scheme", "Bearer krat_unknown-token"],
)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for response in (
        client.get("/api/v1/institutions", headers=headers),
        client.post("/api/v1/institutions", json={"name": "X", "kind": "other"}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_revoked_token_gets_401(client: TestClient, db: Session) -> None:
    headers = make_token(db, "reader", name="paneli-durres")
    db.commit()
    assert client.get("/api/v1/regions", headers=headers).status_code == 200

    token = db.exec(select(ApiToken).where(ApiToken.name == "paneli-durres")).one()
    token.revoked_at = utcnow()
    db.add(token)
    db.commit()
    # Tokens are cached for up to auth.TOKEN_CACHE_SECONDS per process; a revocation takes
    # effect after that. Clearing the cache stands in for waiting, without a wall-clock sleep.
    auth.token_cache.clear()

    response = client.get("/api/v1/regions", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_development_admin_token_is_honoured(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/institutions",
        json={"name": "UNICEF Albania", "kind": "international"},
        headers=admin,
    )
    assert response.status_code == 201
