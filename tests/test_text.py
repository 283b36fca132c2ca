"""fold(): one comparison key for Albanian names; stored text keeps its diacritics."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Institution
from app.text import closest, fold, like_pattern


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Durrës", "durres"),
        ("Korçë", "korce"),
        ("KORÇË", "korce"),
        ("Shkodër", "shkoder"),
        ("Gjirokastër", "gjirokaster"),
        ("Drejtoria Vendore e Policisë Durrës", "drejtoria vendore e policise durres"),
        ("  Prefektura   e\tQarkut\nDurrës  ", "prefektura e qarkut durres"),
        ("ShSSh", "shssh"),
        ("ZVAP–DRSHSSH", "zvap-drshssh"),
        ("Durre\u0308s", "durres"),  # ë written as e + combining diaeresis
        ("", ""),
    ],
)
def test_fold_removes_case_diacritics_and_extra_whitespace(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent() -> None:
    once = fold("Zyra Vendore e Arsimit Parauniversitar Korçë")
    assert fold(once) == once


@pytest.mark.parametrize(
    ("term", "pattern"),
    [("Durrës", "%durres%"), ("50%", "%50\\%%"), ("a_b", "%a\\_b%"), ("c:\\x", "%c:\\\\x%")],
)
def test_like_pattern_folds_and_escapes_wildcards(term: str, pattern: str) -> None:
    assert like_pattern(term) == pattern


def test_closest_suggests_by_folded_name_or_abbreviation() -> None:
    candidates = {
        "zyra vendore e arsimit parauniversitar durres": "ZVAP Durrës",
        "zvap": "ZVAP Durrës",
        "bashkia durres": "Bashkia Durrës",
        "prefektura e qarkut durres": "Prefektura e Qarkut Durrës",
    }
    assert closest("ZVAP Durres", candidates)[0] == "ZVAP Durrës"
    assert closest("Prefektura Durrës", candidates)[0] == "Prefektura e Qarkut Durrës"
    assert closest("Ministria e Shëndetësisë", candidates) == []


def test_stored_names_keep_their_diacritics_exactly(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    name = "Drejtoria Rajonale e Shërbimit Social Shtetëror Korçë"
    created = client.post(
        "/api/v1/institutions",
        json={
            "name": name,
            "abbreviation": "DRSHSSH Korçë",
            "kind": "social_service",
            "region": "AL-06",
        },
        headers=admin,
    )
    assert created.status_code == 201
    assert created.json()["name"] == name

    read = client.get(f"/api/v1/institutions/{created.json()['id']}", headers=admin)
    assert read.json()["name"] == name
    assert read.json()["abbreviation"] == "DRSHSSH Korçë"
    stored = db.exec(select(Institution).where(Institution.id == created.json()["id"])).one()
    assert (stored.name, stored.name_folded) == (name, fold(name))
    found = client.get(
        "/api/v1/institutions", params={"q": "social shteteror korce"}, headers=admin
    )
    assert [i["name"] for i in found.json()["items"]] == [name]


def test_regions_keep_their_diacritics(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/regions", headers=admin)
    assert response.status_code == 200
    names = {r["code"]: r["name"] for r in response.json()["items"]}
    assert names["AL-06"] == "Korçë"
    assert names["AL-02"] == "Durrës"
    assert names["AL-10"] == "Shkodër"
