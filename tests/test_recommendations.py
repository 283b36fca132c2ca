"""The dashboards' recommendations list: every filter, the sorts, keyset pages, the item."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from app.db import get_engine
from app.models import (
    Activity,
    Body,
    Institution,
    Meeting,
    Recommendation,
    RecommendationResponsible,
)
from app.regions import service as regions

from factories import (
    make_body,
    make_institution,
    make_meeting,
    make_plan_activity,
    make_recommendation,
)

URL = "/api/v1/recommendations"
TODAY = date.today()

ITEM_KEYS = {
    "id",
    "key",
    "text",
    "status",
    "due_on",
    "overdue",
    "version",
    "meeting",
    "problem_id",
    "responsible",
    "activity",
    "created_at",
    "updated_at",
}


@dataclass
class World:
    """Seven recommendations of three meetings in Durrës (AL-02) and Shkodër (AL-10)."""

    ids: dict[str, int]
    zvap: int
    drshssh: int
    police: int
    caritas: int
    tt_durres: int
    krat_durres: int
    m1: int
    m3: int
    activity: int

    def names(self, items: list[dict[str, Any]]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[item["id"]] for item in items]


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2017, 11, day, hour, 12, 3, tzinfo=UTC)


@pytest.fixture
def world(db: Session) -> World:
    zvap = make_institution(
        db,
        name="Zyra Vendore e Arsimit Parauniversitar Durrës",
        abbreviation="ZVAP",
        kind="education",
    )
    drshssh = make_institution(
        db,
        name="Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
        abbreviation="DRSHSSH",
        kind="social_service",
    )
    police = make_institution(db, name="Drejtoria Vendore e Policisë Durrës", kind="police")
    caritas = make_institution(db, name="Caritas Shqiptar", kind="ngo", region="AL-10")
    tt = make_body(db, kind="technical_table", region="AL-02", name="Tryeza Teknike Durrës")
    krat = make_body(db, kind="committee", region="AL-02", name="KRAT Durrës")
    krat_shkoder = make_body(db, kind="committee", region="AL-10", name="KRAT Shkodër")
    m1 = make_meeting(db, body=tt, held_on=date(2017, 10, 27))
    m2 = make_meeting(db, body=krat, held_on=date(2017, 11, 10), title="Takim me KRAT Durrës")
    m3 = make_meeting(db, body=krat_shkoder, held_on=date(2017, 10, 20), kind="workshop")
    activity = make_plan_activity(db, region="AL-02", code="1.2")
    day = timedelta(days=1)
    specs: list[tuple[str, Meeting, str, str, date | None, list[Any], datetime]] = [
        (
            "r1",
            m1,
            "Ngritja e një mekanizmi të përbashkët ZVAP–DRSHSSH për ndjekjen e nxënësve "
            "që braktisin shkollën.",
            "open",
            TODAY - 30 * day,
            [(drshssh, False), (zvap, True)],
            _at(1),
        ),
        (
            "r2",
            m1,
            "Fuqizimi i strukturave për monitorimin e nxënësve që largohen nga shkollës.",
            "in_progress",
            TODAY + 30 * day,
            [(zvap, True)],
            _at(1),  # the same instant as r1: the id breaks the tie
        ),
        (
            "r3",
            m2,
            "Koordinimi i punës në nivel vendor për mbrojtjen e viktimave.",
            "implemented",
            TODAY - 10 * day,
            [(police, True), (drshssh, False)],
            _at(12),
        ),
        (
            "r4",
            m2,
            "Ngritja e Qendrës së Emergjencës për viktimat e trafikimit.",
            "open",
            None,
            [(drshssh, True)],
            _at(12, 10),
        ),
        (
            "r5",
            m3,
            "Draftimi i Planit 2-vjeçar të Veprimit antitrafikim të qarkut Shkodër.",
            "in_progress",
            TODAY - day,
            [(caritas, True)],
            _at(3),
        ),
        (
            "r6",
            m3,
            "Trajnimi i punonjësve të policisë për identifikimin e viktimave.",
            "withdrawn",
            TODAY - 100 * day,
            [],
            _at(2),
        ),
        (
            "r7",
            m1,
            "Takime informuese me prindërit në komunitetet vulnerabël.",
            "open",
            TODAY,
            [(police, False)],
            _at(20),
        ),
    ]
    ids = {}
    for key, meeting, text, status, due_on, responsible, created in specs:
        rec = make_recommendation(
            db,
            meeting=meeting,
            key=key,
            text=text,
            status=status,
            due_on=due_on,
            responsible=responsible,
            created_at=created,
            updated_at=created,
            activity_id=activity.id if key == "r2" else None,
        )
        ids[key] = rec.id
    db.commit()
    return World(
        ids,
        zvap.id or 0,
        drshssh.id or 0,
        police.id or 0,
        caritas.id or 0,
        tt.id or 0,
        krat.id or 0,
        m1.id or 0,
        m3.id or 0,
        activity.id or 0,
    )


def _list(client: TestClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(URL, params={"limit": 200, **params}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _names(client: TestClient, admin: dict[str, str], world: World, **params: Any) -> list[str]:
    page = _list(client, admin, **params)
    assert page["total"] == len(page["items"])
    return world.names(page["items"])


# --- filters -----------------------------------------------------------------------------------


def test_without_filters_every_recommendation_is_listed_by_due_date(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    assert _names(client, admin, world) == ["r6", "r1", "r3", "r5", "r7", "r2", "r4"]


def test_status_filter_repeats(client: TestClient, admin: dict[str, str], world: World) -> None:
    assert _names(client, admin, world, status="open") == ["r1", "r7", "r4"]
    assert _names(client, admin, world, status=["open", "in_progress"]) == [
        "r1",
        "r5",
        "r7",
        "r2",
        "r4",
    ]


def test_unknown_status_is_a_422_naming_the_parameter(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    response = client.get(URL, params={"status": "done"}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "status"


def test_region_filter_takes_the_iso_code(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    assert _names(client, admin, world, region="AL-10") == ["r6", "r5"]
    assert _names(client, admin, world, region="AL-05") == []
    assert client.get(URL, params={"region": "Durrës"}, headers=admin).status_code == 422


def test_body_filter(client: TestClient, admin: dict[str, str], world: World) -> None:
    assert _names(client, admin, world, body=world.krat_durres) == ["r3", "r4"]


def test_institution_filter_matches_any_responsible_institution(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    assert _names(client, admin, world, institution=world.drshssh) == ["r1", "r3", "r4"]
    assert _names(client, admin, world, institution=world.caritas) == ["r5"]


def test_overdue_means_past_due_and_still_open_or_in_progress(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    # r3 is past due but implemented, r6 past due but withdrawn, r7 due today: none overdue.
    assert _names(client, admin, world, overdue="true") == ["r1", "r5"]
    assert _names(client, admin, world, overdue="false") == ["r6", "r3", "r7", "r2", "r4"]
    flags = {item["key"]: item["overdue"] for item in _list(client, admin)["items"]}
    assert flags == {
        "r1": True,
        "r2": False,
        "r3": False,
        "r4": False,
        "r5": True,
        "r6": False,
        "r7": False,
    }


def test_due_before_and_after_are_inclusive_and_skip_undated(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    today = TODAY.isoformat()
    assert _names(client, admin, world, due_before=today) == ["r6", "r1", "r3", "r5", "r7"]
    assert _names(client, admin, world, due_after=today) == ["r7", "r2"]
    assert _names(client, admin, world, due_after=today, due_before=today) == ["r7"]


def test_meeting_filter(client: TestClient, admin: dict[str, str], world: World) -> None:
    assert _names(client, admin, world, meeting=world.m3) == ["r6", "r5"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("shkolle", ["r1", "r2"]),
        ("SHKOLLËN", ["r1"]),
        ("ndjekjen e nxënësve", ["r1"]),
        ("NXENESVE", ["r1", "r2"]),
        ("shkoder", ["r5"]),
        ("100%", []),
        ("qendres se emergjences", ["r4"]),
    ],
)
def test_q_is_case_and_diacritic_insensitive(
    client: TestClient, admin: dict[str, str], world: World, q: str, expected: list[str]
) -> None:
    assert _names(client, admin, world, q=q) == expected


def test_filters_combine(client: TestClient, admin: dict[str, str], world: World) -> None:
    names = _names(
        client, admin, world, region="AL-02", status=["open", "in_progress"], overdue="false"
    )
    assert names == ["r7", "r2", "r4"]


# --- sorts and pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("due_on", ["r6", "r1", "r3", "r5", "r7", "r2", "r4"]),
        ("-due_on", ["r2", "r7", "r5", "r3", "r1", "r6", "r4"]),
        ("created_at", ["r1", "r2", "r6", "r5", "r3", "r4", "r7"]),
        ("-created_at", ["r7", "r4", "r3", "r5", "r6", "r2", "r1"]),
    ],
)
def test_sorts_page_by_page_without_skipping_or_repeating(
    client: TestClient, admin: dict[str, str], world: World, sort: str, expected: list[str]
) -> None:
    assert _names(client, admin, world, sort=sort) == expected
    seen: list[str] = []
    params: dict[str, Any] = {"sort": sort, "limit": 2}
    for _ in range(10):
        response = client.get(URL, params=params, headers=admin)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == 7
        seen += world.names(page["items"])
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        assert 'rel="next"' in response.headers["link"]
        params["cursor"] = page["next_cursor"]
    assert seen == expected


def test_rows_added_while_paging_are_neither_repeated_nor_cause_skips(
    client: TestClient, admin: dict[str, str], world: World, db: Session
) -> None:
    first = _list(client, admin, limit=3)
    assert world.names(first["items"]) == ["r6", "r1", "r3"]
    meeting = db.get(Meeting, world.m1)
    make_recommendation(db, meeting=meeting, key="early", due_on=TODAY - timedelta(days=500))
    make_recommendation(db, meeting=meeting, key="late", due_on=TODAY + timedelta(days=500))
    db.commit()
    rest = _list(client, admin, limit=200, cursor=first["next_cursor"])
    assert [i["key"] for i in rest["items"]] == ["r5", "r7", "r2", "late", "r4"]


def test_a_cursor_of_another_sort_is_a_422(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    page = _list(client, admin, limit=2)
    response = client.get(
        URL, params={"sort": "-created_at", "cursor": page["next_cursor"]}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "cursor"


# --- the item ----------------------------------------------------------------------------------


def test_an_item_has_exactly_the_contract_shape(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    items = {i["key"]: i for i in _list(client, admin)["items"]}
    r1, r2 = items["r1"], items["r2"]
    assert set(r1) == ITEM_KEYS
    assert r1["id"] == world.ids["r1"]
    assert r1["status"] == "open"
    assert r1["due_on"] == (TODAY - timedelta(days=30)).isoformat()
    assert r1["version"] == 1
    assert r1["problem_id"] is None
    assert r1["activity"] is None
    assert r1["meeting"] == {
        "id": world.m1,
        "held_on": "2017-10-27",
        "title": "Takim me Tryezën Teknike KRAT",
        "body": {"id": world.tt_durres, "kind": "technical_table", "name": "Tryeza Teknike Durrës"},
        "region": {"code": "AL-02", "name": "Durrës"},
    }
    # The lead comes first although it was listed second.
    assert r1["responsible"] == [
        {
            "institution": {
                "id": world.zvap,
                "name": "Zyra Vendore e Arsimit Parauniversitar Durrës",
                "abbreviation": "ZVAP",
            },
            "lead": True,
        },
        {
            "institution": {
                "id": world.drshssh,
                "name": "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
                "abbreviation": "DRSHSSH",
            },
            "lead": False,
        },
    ]
    assert r1["created_at"] == "2017-11-01T09:12:03Z"
    assert r1["updated_at"] == "2017-11-01T09:12:03Z"
    assert r2["activity"]["id"] == world.activity
    assert r2["activity"]["code"] == "1.2"
    assert set(r2["activity"]) == {"id", "plan_id", "code"}
    assert items["r6"]["responsible"] == []
    assert items["r4"]["due_on"] is None


def test_one_recommendation_has_the_list_shape_and_a_version_etag(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    response = client.get(f"{URL}/{world.ids['r1']}", headers=admin)
    assert response.status_code == 200
    assert response.headers["etag"] == '"v1"'
    listed = next(i for i in _list(client, admin)["items"] if i["key"] == "r1")
    assert response.json() == listed
    again = client.get(f"{URL}/{world.ids['r1']}", headers={**admin, "If-None-Match": '"v1"'})
    assert again.status_code == 304


def test_an_unknown_recommendation_is_a_404(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    response = client.get(f"{URL}/999999", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unchanged_list_answers_304(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    first = client.get(URL, params={"status": "open"}, headers=admin)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = client.get(URL, params={"status": "open"}, headers={**admin, "If-None-Match": etag})
    assert again.status_code == 304
    other = client.get(
        URL, params={"status": "in_progress"}, headers={**admin, "If-None-Match": etag}
    )
    assert other.status_code == 200


def test_the_list_needs_a_token(client: TestClient, world: World) -> None:
    assert client.get(URL).status_code == 401


# --- the hot query -----------------------------------------------------------------------------


def _orm_item(db: Session, rec: Recommendation, today: date) -> dict[str, Any]:
    """The same item computed the obvious way, with ORM objects and one query per relation."""
    meeting = db.get(Meeting, rec.meeting_id)
    body = db.get(Body, rec.body_id)
    assert meeting is not None and body is not None
    links = db.exec(
        select(RecommendationResponsible).where(
            RecommendationResponsible.recommendation_id == rec.id
        )
    ).all()
    links = sorted(links, key=lambda link: (not link.lead, link.position))
    responsible = []
    for link in links:
        inst = db.get(Institution, link.institution_id)
        assert inst is not None
        responsible.append(
            {
                "institution": {
                    "id": inst.id,
                    "name": inst.name,
                    "abbreviation": inst.abbreviation,
                },
                "lead": link.lead,
            }
        )
    activity = db.get(Activity, rec.activity_id) if rec.activity_id else None
    region = regions.region_ref(rec.region_id)
    assert region is not None

    def stamp(value: datetime) -> str:
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return {
        "id": rec.id,
        "key": rec.key,
        "text": rec.text,
        "status": rec.status,
        "due_on": rec.due_on.isoformat() if rec.due_on else None,
        "overdue": bool(
            rec.due_on and rec.due_on < today and rec.status in ("open", "in_progress")
        ),
        "version": rec.version,
        "meeting": {
            "id": meeting.id,
            "held_on": meeting.held_on.isoformat(),
            "title": meeting.title,
            "body": {"id": body.id, "kind": body.kind, "name": body.name},
            "region": {"code": region.code, "name": region.name},
        },
        "problem_id": rec.problem_id,
        "responsible": responsible,
        "activity": {"id": activity.id, "plan_id": activity.action_plan_id, "code": activity.code}
        if activity
        else None,
        "created_at": stamp(rec.created_at),
        "updated_at": stamp(rec.updated_at),
    }


def _straightforward_order(recs: list[Recommendation], sort: str) -> list[Recommendation]:
    """The list's orders, computed in Python: undated recommendations last in either direction."""
    if sort.endswith("due_on"):
        dated = sorted((r for r in recs if r.due_on), key=lambda r: (r.due_on, r.id))
        undated = sorted((r for r in recs if not r.due_on), key=lambda r: r.id or 0)
        if sort.startswith("-"):
            dated.reverse()
            undated.reverse()
        return dated + undated
    ordered = sorted(recs, key=lambda r: (r.created_at, r.id))
    return ordered[::-1] if sort.startswith("-") else ordered


@pytest.mark.parametrize("sort", ["due_on", "-due_on", "created_at", "-created_at"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"status": "open"}, {"region": "AL-02"}, {"overdue": "true"}, {"overdue": "false"}],
)
def test_the_optimised_pages_equal_a_straightforward_orm_computation(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    db: Session,
    sort: str,
    filters: dict[str, str],
) -> None:
    today = date.today()
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**filters, "sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _list(client, admin, **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = db.exec(select(Recommendation)).all()
    expected = [
        item
        for item in (_orm_item(db, rec, today) for rec in _straightforward_order(everything, sort))
        if all(
            {
                "status": item["status"] == value,
                "region": item["meeting"]["region"]["code"] == value,
                "overdue": item["overdue"] == (value == "true"),
            }[name]
            for name, value in filters.items()
        )
    ]
    assert expected, "the world has recommendations for every filter"
    assert seen == expected
    assert page["total"] == len(expected)


def test_the_number_of_queries_does_not_grow_with_the_page(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engines = [get_engine()]  # its listeners hear autocommit_engine()'s statements too
    _list(client, admin, status="open")  # loads the regions, which stay cached
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        _list(client, admin, limit=1)
        small = len(statements)
        statements.clear()
        _list(client, admin, limit=200)
        large = len(statements)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    # One statement for the page (with the write counter, responsible institutions and
    # activities), and the count, which the second request takes from the cache (same
    # filters, same revision).
    assert small == 2
    assert large == 1
