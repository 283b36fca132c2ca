"""Keyset pages: stable under concurrent inserts, with total, next_cursor and a Link header."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.pagination import Keyset, SortKey

from factories import make_body, make_institution

START = [
    "Bashkia Durrës",
    "Bashkia Kavajë",
    "Bashkia Krujë",
    "Bashkia Shijak",
    "Drejtoria Rajonale e Punësimit Durrës",
    "Drejtoria Vendore e Policisë Durrës",
    "Prefektura e Qarkut Durrës",
]


def _next_url(response) -> str | None:  # type: ignore[no-untyped-def]
    link = response.headers.get("link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match, link
    return match.group(1)


def test_pages_neither_skip_nor_repeat_while_rows_are_inserted(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    for name in START:
        make_institution(db, name=name, kind="other")
    db.commit()
    # Inserted between page requests: rows sorting before the cursor and after it, each time.
    # Page one ends with "Bashkia Kavajë": its namesake in Tiranë ties on the sort key and
    # follows it on id, so it belongs after the cursor.
    waves = [
        [
            "Agjencia Kombëtare e Punësimit",
            "Bashkia Kavajë@AL-11",
            "Zyra Vendore e Arsimit Parauniversitar Durrës",
        ],
        ["Bashkia Elbasan@AL-03", "Caritas Shqiptar"],
        ["Bashkia Kamëz@AL-11", "Shërbimi Informativ Shtetëror"],
        ["Agjencia Shtetërore për Mbrojtjen e Fëmijëve", "World Vision Shqipëri"],
    ]

    ids: list[int] = []
    seen: list[str] = []
    response = client.get("/api/v1/institutions", params={"limit": 2}, headers=admin)
    pages = 0
    while True:
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        ids += [item["id"] for item in page["items"]]
        seen += [item["name"] for item in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        if waves:
            for entry in waves.pop(0):
                name, _, region = entry.partition("@")
                make_institution(db, name=name, kind="other", region=region or "AL-02")
            db.commit()
        response = client.get(
            "/api/v1/institutions",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=admin,
        )
        assert pages < 20

    assert len(ids) == len(set(ids))  # nothing served twice
    assert set(START) <= set(seen)  # nothing of the start set missed
    # Rows sorting before the cursor when they were inserted are not served on later pages.
    for before_cursor in (
        "Agjencia Kombëtare e Punësimit",
        "Bashkia Elbasan",
        "Bashkia Kamëz",
        "Agjencia Shtetërore për Mbrojtjen e Fëmijëve",
    ):
        assert before_cursor not in seen
    # Rows after the cursor are served, the tie on the sort key included.
    assert seen.count("Bashkia Kavajë") == 2
    for after_cursor in (
        "Zyra Vendore e Arsimit Parauniversitar Durrës",
        "Caritas Shqiptar",
        "Shërbimi Informativ Shtetëror",
        "World Vision Shqipëri",
    ):
        assert after_cursor in seen
    assert seen == sorted(seen, key=lambda n: n.replace("ë", "e"))


def test_page_has_total_next_cursor_and_a_link_that_keeps_the_filters(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    for name in START:
        make_institution(db, name=name, kind="other")
    make_institution(db, name="Bashkia Shkodër", kind="other", region="AL-10")
    db.commit()

    first = client.get(
        "/api/v1/institutions", params={"limit": 3, "region": "AL-02"}, headers=admin
    )

    assert first.status_code == 200
    page = first.json()
    assert page["total"] == len(START)
    assert [i["name"] for i in page["items"]] == START[:3]
    assert page["next_cursor"]
    url = _next_url(first)
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query == {"limit": ["3"], "region": ["AL-02"], "cursor": [page["next_cursor"]]}

    second = client.get(url, headers=admin)
    assert second.status_code == 200
    assert second.json()["total"] == len(START)
    assert [i["name"] for i in second.json()["items"]] == START[3:6]
    third = client.get(_next_url(second) or "", headers=admin).json()
    assert [i["name"] for i in third["items"]] == START[6:]
    assert third["next_cursor"] is None


def test_last_page_has_no_cursor_and_no_link(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/regions", params={"limit": 12}, headers=admin)
    assert response.status_code == 200
    assert response.json()["next_cursor"] is None
    assert response.json()["total"] == 12
    assert "link" not in response.headers


def test_members_and_bodies_page_too(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    for code in ("AL-01", "AL-02", "AL-03"):
        make_body(db, kind="committee", region=code)
    db.commit()

    first = client.get("/api/v1/bodies", params={"limit": 2}, headers=admin)
    second = client.get(_next_url(first) or "", headers=admin)

    regions = [b["region"] for b in first.json()["items"] + second.json()["items"]]
    assert regions == ["AL-01", "AL-02", "AL-03"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "WyJuYW1lIl0",  # ["name"]: right list, no values
        "WyJpZCIsIDFd",  # ["id", 1]: a cursor of the bodies list
        "bnVsbA",  # null
        "",
    ],
)
def test_a_bad_cursor_is_a_422_about_the_cursor(
    client: TestClient, admin: dict[str, str], cursor: str
) -> None:
    response = client.get("/api/v1/institutions", params={"cursor": cursor}, headers=admin)
    if cursor == "":
        # An empty cursor is the same as none: page one.
        assert response.status_code == 200
        return
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_limit_outside_1_to_200_is_a_422_about_the_limit(
    client: TestClient, admin: dict[str, str], limit: str
) -> None:
    response = client.get("/api/v1/institutions", params={"limit": limit}, headers=admin)
    assert response.status_code == 422
    assert [e["parameter"] for e in response.json()["errors"]] == ["limit"]


@pytest.mark.parametrize("limit", ["1", "200"])
def test_limit_bounds_are_accepted(client: TestClient, admin: dict[str, str], limit: str) -> None:
    assert client.get("/api/v1/regions", params={"limit": limit}, headers=admin).status_code == 200


def test_cursor_round_trips_its_values() -> None:
    keyset = Keyset("name", [SortKey(None), SortKey(None)])
    assert keyset.decode(keyset.encode(["bashkia durres", 7])) == ["bashkia durres", 7]
