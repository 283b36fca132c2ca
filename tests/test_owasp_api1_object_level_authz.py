"""OWASP API1:2023, broken object level authorization: AL-10 can never write AL-02's records.

Every write route that takes an id is tried by Shkodër's (AL-10) secretariat against Durrës's
(AL-02) record: 403, and the database is left exactly as it was. Writes that name their target
in the body (a region, a body id) get the same treatment, and so do the indirect paths: a
secretariat writing its own records while pointing them at another region's institutions,
plans or bodies. Reads are the other half of the contract: everyone but the audit log's
readers reads everything, so AL-10 reads every AL-02 record.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from owasp_world import (
    API,
    World,
    app_routes,
    build_world,
    database_fingerprint,
    write_requests,
    write_routes,
)
from sqlmodel import Session, select

from app.main import create_app
from app.models import Recommendation

from factories import make_institution, minutes_document, post_minutes

APP_ROUTES = app_routes(create_app())
ID_WRITES = [r.key for r in APP_ROUTES if r.method != "GET" and r.takes_id]
ALL_WRITES = [r.key for r in write_routes(create_app())]
ID_READS = [r.key for r in APP_ROUTES if r.method == "GET" and r.takes_id]


@pytest.fixture
def world(db: Session, admin: dict[str, str]) -> World:
    return build_world(db, admin)


@pytest.fixture
def shkoder(client: TestClient, db: Session, world: World) -> dict[str, Any]:
    """Shkodër's own minutes (one recommendation), institution and follow-ups on Durrës's."""
    zvap = make_institution(
        db,
        name="Zyra Vendore e Arsimit Parauniversitar Shkodër",
        abbreviation="ZVAP",
        kind="education",
        region="AL-10",
    )
    meeting = post_minutes(
        db,
        minutes_document(
            external_ref="SH-TT-2017-06-20",
            body={"region": "AL-10", "kind": "technical_table"},
            held_on="2017-06-20",
            title="Forcimi i kapaciteteve të strukturave shtetërore",
            chair=None,
            new_institutions=[],
            attendees=[{"institution": "ZVAP"}],
            problems=[],
            recommendations=[
                {
                    "key": "r1",
                    "text": "Ngritja e grupeve të punës në shkolla.",
                    "responsible": [{"institution": "ZVAP", "lead": True}],
                }
            ],
        ),
    )
    recommendation = db.exec(
        select(Recommendation).where(Recommendation.meeting_id == meeting.id)
    ).one()
    db.commit()
    admin = world.headers["admin"]
    follow_up = {"reported_on": "2018-01-15", "institution": "ZVAP", "description": "U raportua."}
    rec_follow_up = client.post(
        f"{API}/recommendations/{world.recommendation}/follow-ups", json=follow_up, headers=admin
    )
    act_follow_up = client.post(
        f"{API}/activities/{world.activity}/follow-ups", json=follow_up, headers=admin
    )
    assert rec_follow_up.status_code == act_follow_up.status_code == 201
    return {
        "institution": zvap.id,
        "meeting": meeting.id,
        "recommendation": recommendation.id,
        "recommendation_follow_up": rec_follow_up.json()["id"],
        "activity_follow_up": act_follow_up.json()["id"],
    }


def test_every_write_route_with_an_id_has_an_example_object() -> None:
    covered = set(write_requests(World(*range(1, 12))))
    assert ID_WRITES, "the app has no id-taking write route: the enumeration is broken"
    assert set(ID_WRITES) <= covered, "add the new route to owasp_world.write_requests"
    assert set(ALL_WRITES) == covered


def test_another_regions_secretariat_is_refused_every_write_and_nothing_changes(
    client: TestClient, world: World
) -> None:
    requests = write_requests(world)
    before = database_fingerprint()
    answered = {}

    for route in ALL_WRITES:
        request = requests[route]
        response = client.request(
            request.method,
            request.path,
            json=request.json,
            headers=world.headers["secretariat AL-10"],
        )
        answered[route] = response.status_code

    assert answered == dict.fromkeys(ALL_WRITES, 403)
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    "route",
    [
        "POST /api/v1/recommendations/{recommendation_id}/follow-ups",
        "POST /api/v1/activities/{activity_id}/follow-ups",
    ],
)
def test_an_institution_not_responsible_may_not_report_on_the_subject(
    client: TestClient, world: World, route: str
) -> None:
    request = write_requests(world)[route]
    before = database_fingerprint()
    document = {k: v for k, v in request.json.items() if k != "institution"}

    response = client.post(
        request.path, json=document, headers=world.headers["institution not responsible"]
    )

    assert response.status_code == 403, response.text
    assert database_fingerprint() == before


def test_an_institution_may_not_report_in_the_name_of_another(
    client: TestClient, world: World
) -> None:
    request = write_requests(world)["POST /api/v1/recommendations/{recommendation_id}/follow-ups"]
    before = database_fingerprint()
    document = {**request.json, "institution": world.other_institution}

    response = client.post(request.path, json=document, headers=world.headers["institution"])

    assert response.status_code == 403, response.text
    assert database_fingerprint() == before


def _indirect_writes(world: World, shkoder: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """AL-10's own records pointed at AL-02's: (method, path, document, status, pointer)."""
    durres_zvap = world.responsible_institution
    own_minutes = minutes_document(
        external_ref="SH-TT-2017-09-01",
        body={"region": "AL-10", "kind": "technical_table"},
        held_on="2017-09-01",
        chair=None,
        new_institutions=[],
        attendees=[{"institution": durres_zvap}],
        problems=[],
        recommendations=[
            {
                "key": "r1",
                "text": "Takime të përbashkëta me shkollat.",
                "responsible": [{"institution": durres_zvap, "lead": True}],
            }
        ],
    )
    return {
        "minutes posted to AL-02's body by id": (
            "POST",
            "/meetings",
            minutes_document(body={"id": world.technical_table}, new_institutions=[]),
            403,
            None,
        ),
        "own minutes naming AL-02's institution by id": (
            "POST",
            "/meetings",
            own_minutes,
            422,
            "/recommendations/0/responsible/0/institution",
        ),
        "own minutes moved to AL-02's body": (
            "PUT",
            f"/meetings/{shkoder['meeting']}",
            {
                **own_minutes,
                "external_ref": "SH-TT-2017-06-20",
                "body": {"id": world.technical_table},
            },
            422,
            "/body",
        ),
        "own body's members set to AL-02's institution": (
            "PUT",
            f"/bodies/{world.shkoder_table}/members",
            [{"institution": durres_zvap, "role": "member"}],
            422,
            "/0/institution",
        ),
        "own recommendation linked to AL-02's plan": (
            "PATCH",
            f"/recommendations/{shkoder['recommendation']}",
            {"activity": {"plan": world.plan, "code": "1.1"}},
            422,
            "/activity",
        ),
        "own recommendation's follow-up reported by AL-02's institution": (
            "POST",
            f"/recommendations/{shkoder['recommendation']}/follow-ups",
            {"reported_on": "2018-01-15", "institution": durres_zvap, "description": "U bë."},
            422,
            "/institution",
        ),
        "own plan with AL-02's institution responsible": (
            "POST",
            "/action-plans",
            {
                **_shkoder_plan(),
                "objectives": [
                    {
                        **_shkoder_plan()["objectives"][0],
                        "activities": [
                            {
                                "code": "1.1",
                                "title": "Seanca në shkolla",
                                "responsible": [{"institution": durres_zvap, "lead": True}],
                            }
                        ],
                    }
                ],
            },
            422,
            "/objectives/0/activities/0/responsible/0/institution",
        ),
    }


def _shkoder_plan() -> dict[str, Any]:
    return {
        "region": "AL-10",
        "title": "Plani i Veprimit Antitrafik, Qarku Shkodër 2018–2019",
        "period_start": "2018-01-01",
        "period_end": "2019-12-31",
        "objectives": [
            {
                "code": "1",
                "pillar": "prevention",
                "title": "Ndërgjegjësimi",
                "activities": [
                    {
                        "code": "1.1",
                        "title": "Seanca në shkolla",
                        "responsible": [{"institution": "ZVAP", "lead": True}],
                    }
                ],
            }
        ],
    }


INDIRECT = [
    "minutes posted to AL-02's body by id",
    "own minutes naming AL-02's institution by id",
    "own minutes moved to AL-02's body",
    "own body's members set to AL-02's institution",
    "own recommendation linked to AL-02's plan",
    "own recommendation's follow-up reported by AL-02's institution",
    "own plan with AL-02's institution responsible",
]


@pytest.mark.parametrize("name", INDIRECT)
def test_a_secretariat_cannot_reach_another_regions_records_through_its_own(
    client: TestClient, world: World, shkoder: dict[str, Any], name: str
) -> None:
    method, path, document, status, pointer = _indirect_writes(world, shkoder)[name]
    before = database_fingerprint()

    response = client.request(
        method, API + path, json=document, headers=world.headers["secretariat AL-10"]
    )

    # 403 when the target is AL-02's; 422 when an AL-02 record is only named in the document
    # (it is not among the records that document may refer to), pointing at the reference.
    assert response.status_code == status, response.text
    if pointer is not None:
        assert pointer in [error.get("pointer") for error in response.json()["errors"]]
    assert database_fingerprint() == before


def test_the_indirect_paths_are_open_to_the_secretariat_with_its_own_records(
    client: TestClient, world: World, shkoder: dict[str, Any]
) -> None:
    """The indirect requests above fail because of the AL-02 reference, not by construction."""
    headers = world.headers["secretariat AL-10"]
    minutes = minutes_document(
        external_ref="SH-TT-2017-09-01",
        body={"region": "AL-10", "kind": "technical_table"},
        held_on="2017-09-01",
        chair=None,
        new_institutions=[],
        attendees=[{"institution": shkoder["institution"]}],
        problems=[],
        recommendations=[
            {
                "key": "r1",
                "text": "Takime të përbashkëta me shkollat.",
                "responsible": [{"institution": shkoder["institution"], "lead": True}],
            }
        ],
    )
    plan = client.post(f"{API}/action-plans", json=_shkoder_plan(), headers=headers)
    assert plan.status_code == 201, plan.text
    checks = [
        ("POST", "/meetings", minutes, 201),
        (
            "PUT",
            f"/bodies/{world.shkoder_table}/members",
            [{"institution": shkoder["institution"], "role": "member"}],
            200,
        ),
        (
            "PATCH",
            f"/recommendations/{shkoder['recommendation']}",
            {"activity": {"plan": plan.json()["id"], "code": "1.1"}},
            200,
        ),
        (
            "POST",
            f"/recommendations/{shkoder['recommendation']}/follow-ups",
            {
                "reported_on": "2018-01-15",
                "institution": shkoder["institution"],
                "description": "U",
            },
            201,
        ),
    ]
    for method, path, document, expected in checks:
        response = client.request(method, API + path, json=document, headers=headers)
        assert response.status_code == expected, (path, response.text)


def _read_paths(world: World, shkoder: dict[str, Any]) -> dict[str, str]:
    rec, act = world.recommendation, world.activity
    return {
        "GET /api/v1/institutions/{institution_id}": f"/institutions/{world.institution}",
        "GET /api/v1/bodies/{body_id}": f"/bodies/{world.technical_table}",
        "GET /api/v1/bodies/{body_id}/members": f"/bodies/{world.technical_table}/members",
        "GET /api/v1/meetings/{meeting_id}": f"/meetings/{world.meeting}",
        "GET /api/v1/problems/{problem_id}": f"/problems/{world.problem}",
        "GET /api/v1/recommendations/{recommendation_id}": f"/recommendations/{rec}",
        "GET /api/v1/recommendations/{recommendation_id}/history": (
            f"/recommendations/{rec}/history"
        ),
        "GET /api/v1/recommendations/{recommendation_id}/follow-ups": (
            f"/recommendations/{rec}/follow-ups"
        ),
        "GET /api/v1/recommendations/{recommendation_id}/follow-ups/{follow_up_id}": (
            f"/recommendations/{rec}/follow-ups/{shkoder['recommendation_follow_up']}"
        ),
        "GET /api/v1/action-plans/{plan_id}": f"/action-plans/{world.plan}",
        "GET /api/v1/action-plans/{plan_id}/progress": f"/action-plans/{world.plan}/progress",
        "GET /api/v1/activities/{activity_id}/follow-ups": f"/activities/{act}/follow-ups",
        "GET /api/v1/activities/{activity_id}/follow-ups/{follow_up_id}": (
            f"/activities/{act}/follow-ups/{shkoder['activity_follow_up']}"
        ),
    }


def test_another_regions_secretariat_reads_every_record_by_id(
    client: TestClient, world: World, shkoder: dict[str, Any]
) -> None:
    paths = _read_paths(world, shkoder)
    assert set(ID_READS) == set(paths), "add the new id-taking read route to _read_paths"

    for route, path in paths.items():
        response = client.get(API + path, headers=world.headers["secretariat AL-10"])
        assert response.status_code == 200, (route, response.text)
