"""Institutions: creating, listing and finding them, and resolving references to them."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.institutions import service as institutions_service

from factories import make_body, make_institution

DVP = "Drejtoria Vendore e Policisë Durrës"
PREFECTURE = "Prefektura e Qarkut Durrës"
DRSHSSH = "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës"
ZVAP = "Zyra Vendore e Arsimit Parauniversitar Durrës"


@pytest.fixture
def durres(db: Session) -> dict[str, int]:
    """Durrës's member institutions and its committee, by name."""
    rows = {
        DVP: make_institution(db, name=DVP, abbreviation="DVP", kind="police"),
        PREFECTURE: make_institution(db, name=PREFECTURE, kind="prefecture"),
        DRSHSSH: make_institution(db, name=DRSHSSH, abbreviation="DRSHSSH", kind="social_service"),
        ZVAP: make_institution(db, name=ZVAP, abbreviation="ZVAP", kind="education"),
        "Bashkia Shkodër": make_institution(
            db, name="Bashkia Shkodër", kind="municipality", region="AL-10"
        ),
        "Shërbimi Social Shtetëror": make_institution(
            db,
            name="Shërbimi Social Shtetëror",
            abbreviation="ShSSh",
            kind="social_service",
            region=None,
        ),
    }
    rows["committee"] = make_body(db, kind="committee", region="AL-02")  # type: ignore[assignment]
    db.commit()
    return {name: row.id or 0 for name, row in rows.items()}


def _names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["items"]]


@pytest.mark.parametrize("q", ["durres", "DURRËS", "  Policise   DURRES ", "policisë durrës"])
def test_q_finds_names_whatever_the_case_and_diacritics(
    client: TestClient, admin: dict[str, str], durres: dict[str, int], q: str
) -> None:
    names = _names(client.get("/api/v1/institutions", params={"q": q}, headers=admin))
    assert DVP in names
    assert "Bashkia Shkodër" not in names


def test_q_matches_abbreviations(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    names = _names(client.get("/api/v1/institutions", params={"q": "SHSSH"}, headers=admin))
    assert sorted(names) == sorted([DRSHSSH, "Shërbimi Social Shtetëror"])


@pytest.mark.parametrize("q", ["_", "%", "e_q", "\\"])
def test_q_wildcard_characters_match_only_themselves(
    client: TestClient, admin: dict[str, str], durres: dict[str, int], q: str
) -> None:
    response = client.get("/api/v1/institutions", params={"q": q}, headers=admin)
    assert _names(response) == []
    assert response.json()["total"] == 0


def test_filters_by_region_national_and_kind(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    in_durres = _names(client.get("/api/v1/institutions?region=AL-02", headers=admin))
    assert sorted(in_durres) == sorted([DVP, PREFECTURE, DRSHSSH, ZVAP])
    national = _names(client.get("/api/v1/institutions?region=national", headers=admin))
    assert national == ["Shërbimi Social Shtetëror"]
    police = _names(client.get("/api/v1/institutions?kind=police", headers=admin))
    assert police == [DVP]


def test_create_answers_201_with_location_and_a_derived_level(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/institutions",
        json={"name": "Bashkia Shijak", "kind": "municipality", "region": "AL-02"},
        headers=admin,
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/api/v1/institutions/{created['id']}"
    assert created["level"] == "local"
    assert created["region"] == "AL-02"
    assert created["version"] == 1

    national = client.post(
        "/api/v1/institutions",
        json={"name": "UNICEF Albania", "kind": "international"},
        headers=admin,
    ).json()
    assert (national["region"], national["level"]) == (None, "international")


def test_same_name_in_a_region_is_a_409_whatever_the_diacritics(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    response = client.post(
        "/api/v1/institutions",
        json={"name": "drejtoria vendore e policise DURRES", "kind": "police", "region": "AL-02"},
        headers=admin,
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["existing_id"] == durres[DVP]

    elsewhere = client.post(
        "/api/v1/institutions",
        json={"name": DVP, "kind": "police", "region": "AL-03"},
        headers=admin,
    )
    assert elsewhere.status_code == 201


@pytest.mark.parametrize("region", ["AL-02", None])
def test_the_database_refuses_a_name_twice_in_a_scope_when_creates_race(
    client: TestClient,
    admin: dict[str, str],
    durres: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    region: str | None,
) -> None:
    # As if two creates had both passed the service's check before either committed.
    monkeypatch.setattr(institutions_service, "_ensure_unique_name", lambda *_a, **_k: None)
    document = {"name": "Qendra Kombëtare Pritëse", "kind": "social_service", "region": region}
    assert client.post("/api/v1/institutions", json=document, headers=admin).status_code == 201
    again = client.post(
        "/api/v1/institutions",
        json={**document, "name": "QENDRA KOMBETARE PRITESE"},
        headers=admin,
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    listed = client.get("/api/v1/institutions", params={"q": "qendra kombetare"}, headers=admin)
    assert [item["name"] for item in listed.json()["items"]] == ["Qendra Kombëtare Pritëse"]


def test_renaming_onto_another_institutions_name_is_a_409(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    response = client.patch(
        f"/api/v1/institutions/{durres[ZVAP]}",
        json={"name": "prefektura e qarkut durres"},
        headers=admin,
    )
    assert response.status_code == 409
    assert response.json()["existing_id"] == durres[PREFECTURE]


def test_patch_renames_and_keeps_what_was_not_sent(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    path = f"/api/v1/institutions/{durres[DVP]}"
    response = client.patch(
        path, json={"name": "Drejtoria e Policisë së Qarkut Durrës"}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["abbreviation"] == "DVP"
    names = _names(
        client.get("/api/v1/institutions", params={"q": "policise se qarkut"}, headers=admin)
    )
    assert names == ["Drejtoria e Policisë së Qarkut Durrës"]


def _put_members(client: TestClient, admin: dict[str, str], body_id: int, members: list) -> object:  # type: ignore[type-arg]
    return client.put(f"/api/v1/bodies/{body_id}/members", json=members, headers=admin)


def test_member_references_resolve_by_folded_name_and_abbreviation(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    response = _put_members(
        client,
        admin,
        durres["committee"],
        [
            {"institution": "prefektura e qarkut durres", "role": "chair"},
            {"institution": "zvap"},
            {"institution": "  DRSHSSH "},
            {"institution": durres[DVP]},
            {"institution": "SHSSH"},
        ],
    )
    assert response.status_code == 200, response.json()  # type: ignore[attr-defined]
    names = [m["institution"]["name"] for m in response.json()]  # type: ignore[attr-defined]
    assert names == [PREFECTURE, ZVAP, DRSHSSH, DVP, "Shërbimi Social Shtetëror"]


def test_unknown_member_reference_is_a_422_with_a_suggestion(
    client: TestClient, admin: dict[str, str], durres: dict[str, int]
) -> None:
    response = _put_members(
        client,
        admin,
        durres["committee"],
        [
            {"institution": "Prefektura e Qarkut Durrës", "role": "chair"},
            {"institution": "ZVAP Durres"},
            {"institution": "Bashkia Shkodër"},
            {"institution": durres["Bashkia Shkodër"]},
        ],
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    errors = {e["pointer"]: e["detail"] for e in problem["errors"]}
    assert set(errors) == {"/1/institution", "/2/institution", "/3/institution"}
    # The contract's own example: the abbreviation the clerk typed names the best candidate.
    assert errors["/1/institution"].startswith(
        f"unknown institution 'ZVAP Durres' in AL-02; did you mean '{ZVAP}' (ZVAP)"
    )
    # An institution of another region is not a member candidate, by name or by id.
    assert "AL-02" in errors["/2/institution"]
    assert str(durres["Bashkia Shkodër"]) in errors["/3/institution"]


def test_ambiguous_member_reference_is_reported_with_the_candidates(
    client: TestClient, db: Session, admin: dict[str, str], durres: dict[str, int]
) -> None:
    make_institution(
        db,
        name="Zyra Vendore e Arsimit Parauniversitar Shijak",
        abbreviation="ZVAP",
        kind="education",
    )
    db.commit()

    response = _put_members(client, admin, durres["committee"], [{"institution": "zvap"}])

    assert response.status_code == 422  # type: ignore[attr-defined]
    [error] = response.json()["errors"]  # type: ignore[attr-defined]
    assert error["pointer"] == "/0/institution"
    assert "ambiguous" in error["detail"]
    assert ZVAP in error["detail"]
    assert "Zyra Vendore e Arsimit Parauniversitar Shijak" in error["detail"]


def test_the_regional_branch_wins_over_a_national_namesake(
    client: TestClient, db: Session, admin: dict[str, str], durres: dict[str, int]
) -> None:
    make_institution(
        db, name="Zyra Kombëtare e Arsimit", abbreviation="ZVAP", kind="education", region=None
    )
    db.commit()

    response = _put_members(client, admin, durres["committee"], [{"institution": "ZVAP"}])

    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json()[0]["institution"]["id"] == durres[ZVAP]  # type: ignore[attr-defined]
