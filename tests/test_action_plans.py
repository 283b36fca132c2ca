"""Action plans: the plan document, its validation, overlap, reading the tree, and PATCH."""

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import get_settings
from app.models import AuditEvent

from factories import (
    make_body,
    make_institution,
    make_meeting,
    make_plan_institutions,
    make_recommendation,
    make_token,
    plan_document,
)

PLANS = "/api/v1/action-plans"


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["pointer"]: e["detail"] for e in response.json()["errors"]}


def _activity(plan: dict[str, Any], code: str) -> dict[str, Any]:
    for objective in plan["objectives"]:
        for activity in objective["activities"]:
            if activity["code"] == code:
                return activity
    raise AssertionError(code)


@pytest.fixture
def shkoder(db: Session) -> dict[str, Any]:
    made = make_plan_institutions(db)
    db.commit()
    return made


def test_create_plan_stores_the_tree_with_ids_and_location(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    response = client.post(PLANS, json=plan_document(), headers=admin)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert response.headers["Location"] == f"{PLANS}/{plan['id']}"
    assert response.headers["ETag"].startswith('"v1.')
    assert plan["region"] == "AL-10"
    assert plan["status"] == "draft"
    assert [o["code"] for o in plan["objectives"]] == ["1", "2"]
    first = _activity(plan, "1.1")
    assert first["id"] > 0
    assert first["target"] == 400
    assert first["budget"] == {"amount": 250000, "currency": "ALL"}
    assert first["status"] == "not_started"
    assert first["responsible"] == [
        {
            "institution": {
                "id": shkoder["DRSHSSH"].id,
                "name": "Drejtoria Rajonale e Shërbimit Social Shtetëror Shkodër",
                "abbreviation": "DRSHSSH",
            },
            "lead": True,
        },
        {
            "institution": {
                "id": shkoder["ZVAP"].id,
                "name": "Zyra Vendore e Arsimit Parauniversitar Shkodër",
                "abbreviation": "ZVAP",
            },
            "lead": False,
        },
    ]
    assert _activity(plan, "2.1")["budget"] == {"amount": 1200.5, "currency": "EUR"}
    assert _activity(plan, "2.2")["budget"] is None

    fetched = client.get(f"{PLANS}/{plan['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json() == plan
    events = db.exec(select(AuditEvent).where(AuditEvent.entity == "action_plan")).all()
    assert [(e.action, e.entity_id) for e in events] == [("create", plan["id"])]
    assert len(events[0].after["activities"]) == 4


def test_get_plan_answers_304_for_its_etag_and_404_for_unknown(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    plan_id = client.post(PLANS, json=plan_document(), headers=admin).json()["id"]
    etag = client.get(f"{PLANS}/{plan_id}", headers=admin).headers["etag"]
    again = client.get(f"{PLANS}/{plan_id}", headers={**admin, "If-None-Match": etag})
    assert again.status_code == 304
    missing = client.get(f"{PLANS}/999", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "there is no action plan 999"


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            lambda d: d.update(period_end="2019-12-30"),
            "/period_end",
            "a plan spans 24 months: a plan starting on 2018-01-01 must end on 2019-12-31",
        ),
        (
            lambda d: d["objectives"][0]["activities"][1].update(deadline="2020-01-01"),
            "/objectives/0/activities/1/deadline",
            "the deadline must lie inside the plan period 2018-01-01–2019-12-31",
        ),
        (
            lambda d: d["objectives"][1]["activities"][0].update(deadline="2017-12-31"),
            "/objectives/1/activities/0/deadline",
            "the deadline must lie inside the plan period 2018-01-01–2019-12-31",
        ),
        (
            lambda d: d["objectives"][1].update(code="1"),
            "/objectives/1/code",
            "objective code 1 is already used at /objectives/0/code",
        ),
        (
            lambda d: d["objectives"][1]["activities"][1].update(code="1.2"),
            "/objectives/1/activities/1/code",
            "activity code 1.2 is already used at /objectives/0/activities/1/code",
        ),
        (
            lambda d: d["objectives"][0]["activities"][0]["responsible"][1].update(lead=True),
            "/objectives/0/activities/0/responsible/1/lead",
            "an activity has at most one lead; "
            "/objectives/0/activities/0/responsible/0 already leads",
        ),
        (
            lambda d: d["objectives"][0]["activities"][0]["responsible"].append(
                {"institution": "drshssh"}
            ),
            "/objectives/0/activities/0/responsible/2/institution",
            "the same institution is already listed at /objectives/0/activities/0/responsible/0",
        ),
        (
            lambda d: d["objectives"][0]["activities"][1]["responsible"][0].update(
                institution="ZVAPP"
            ),
            "/objectives/0/activities/1/responsible/0/institution",
            "unknown institution 'ZVAPP' in AL-10; did you mean "
            "'Zyra Vendore e Arsimit Parauniversitar Shkodër' (ZVAP) or "
            "'Drejtoria Vendore e Policisë Shkodër' (DVP)?",
        ),
    ],
    ids=[
        "period",
        "deadline-after",
        "deadline-before",
        "objective-code",
        "activity-code",
        "two-leads",
        "duplicate-responsible",
        "unknown-institution",
    ],
)
def test_invalid_plan_is_refused_with_a_pointer_to_the_problem(
    client: TestClient,
    admin: dict[str, str],
    shkoder: dict[str, Any],
    change: Any,
    where: str,
    message: str,
) -> None:
    document = plan_document()
    change(document)
    response = client.post(PLANS, json=document, headers=admin)
    assert _errors(response) == {where: message}
    assert response.json()["title"] == "Invalid action plan"
    assert client.get(PLANS, headers=admin).json()["total"] == 0


def test_every_problem_of_a_plan_is_reported_at_once(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    document = plan_document(period_end="2020-01-31")
    document["objectives"][1]["code"] = "1"
    document["objectives"][1]["activities"][0]["deadline"] = "2021-01-01"
    document["objectives"][1]["activities"][0]["responsible"][1]["institution"] = 99999
    errors = _errors(client.post(PLANS, json=document, headers=admin))
    assert set(errors) == {
        "/period_end",
        "/objectives/1/code",
        "/objectives/1/activities/0/deadline",
        "/objectives/1/activities/0/responsible/1/institution",
    }
    assert errors["/objectives/1/activities/0/responsible/1/institution"] == (
        "institution 99999 does not exist in AL-10 or nationally"
    )


def test_an_institution_of_another_region_is_not_resolved(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    durres = make_institution(db, name="Bashkia Durrës", kind="municipality", region="AL-02")
    db.commit()
    document = plan_document()
    document["objectives"][1]["activities"][1]["responsible"] = [{"institution": durres.id}]
    errors = _errors(client.post(PLANS, json=document, headers=admin))
    assert errors == {
        "/objectives/1/activities/1/responsible/0/institution": (
            f"institution {durres.id} does not exist in AL-10 or nationally"
        )
    }


def test_schema_rules_are_reported_with_pointers(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    document = plan_document()
    activity = document["objectives"][0]["activities"][0]
    activity["target"] = -1
    activity["budget"] = {"amount": -5, "currency": "USD"}
    activity["colour"] = "red"
    document["objectives"][1]["pillar"] = "rescue"
    errors = _errors(client.post(PLANS, json=document, headers=admin))
    assert errors == {
        "/objectives/0/activities/0/target": "must be ≥ 0.0",
        "/objectives/0/activities/0/budget/amount": "must be ≥ 0",
        "/objectives/0/activities/0/budget/currency": "must be one of: ALL or EUR",
        "/objectives/0/activities/0/colour": "is not a field of this document",
        "/objectives/1/pillar": (
            "must be one of: prevention, protection, prosecution or partnership"
        ),
    }


def test_plan_period_follows_the_configured_number_of_months(
    client: TestClient,
    admin: dict[str, str],
    shkoder: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRAT_PLAN_PERIOD_MONTHS", "12")
    get_settings.cache_clear()
    document = plan_document()
    for objective in document["objectives"]:
        for activity in objective["activities"]:
            activity["deadline"] = "2018-06-30"
    errors = _errors(client.post(PLANS, json=document, headers=admin))
    assert errors == {
        "/period_end": "a plan spans 12 months: a plan starting on 2018-01-01 must end on "
        "2018-12-31"
    }
    document["period_end"] = "2018-12-31"
    assert client.post(PLANS, json=document, headers=admin).status_code == 201


def test_period_end_is_computed_in_calendar_months(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    document = plan_document(period_start="2018-03-01", period_end="2020-02-29")
    assert client.post(PLANS, json=document, headers=admin).status_code == 201


def test_overlapping_plan_of_the_same_region_is_a_conflict(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    first = client.post(PLANS, json=plan_document(), headers=admin).json()
    overlapping = plan_document(period_start="2019-07-01", period_end="2021-06-30")
    for objective in overlapping["objectives"]:
        for activity in objective["activities"]:
            activity["deadline"] = "2020-06-30"
    response = client.post(PLANS, json=overlapping, headers=admin)
    assert response.status_code == 409
    body = response.json()
    assert body["existing_id"] == first["id"]
    assert f"action plan {first['id']} for 2018-01-01–2019-12-31" in body["detail"]

    following = copy.deepcopy(overlapping)
    following.update(period_start="2020-01-01", period_end="2021-12-31")
    assert client.post(PLANS, json=following, headers=admin).status_code == 201

    make_plan_institutions(db, region="AL-02")
    db.commit()
    durres = plan_document(region="AL-02")
    durres["objectives"][1]["activities"][1]["responsible"] = [{"institution": "Bashkia AL-02"}]
    assert client.post(PLANS, json=durres, headers=admin).status_code == 201


def test_only_admins_and_the_regions_secretariat_may_create_a_plan(
    client: TestClient, shkoder: dict[str, Any], db: Session
) -> None:
    reader = make_token(db, "reader")
    durres = make_token(db, "secretariat", region="AL-02")
    zvap = make_token(db, "institution", institution_id=shkoder["ZVAP"].id)
    shkoder_secretariat = make_token(db, "secretariat", region="AL-10")
    db.commit()
    for headers in (reader, durres, zvap):
        response = client.post(PLANS, json=plan_document(), headers=headers)
        assert response.status_code == 403, response.text
    assert client.post(PLANS, json=plan_document(), headers=shkoder_secretariat).status_code == 201
    assert client.post(PLANS, json=plan_document()).status_code == 401


def test_list_plans_filters_by_region_date_and_status(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    first = client.post(PLANS, json=plan_document(), headers=admin).json()
    later = plan_document(period_start="2020-01-01", period_end="2021-12-31", status="adopted")
    for objective in later["objectives"]:
        for activity in objective["activities"]:
            activity["deadline"] = "2021-06-30"
    second = client.post(PLANS, json=later, headers=admin).json()

    listed = client.get(PLANS, headers=admin).json()
    assert [p["id"] for p in listed["items"]] == [second["id"], first["id"]]
    assert listed["total"] == 2
    assert "objectives" not in listed["items"][0]

    def ids(query: str) -> list[int]:
        response = client.get(f"{PLANS}?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert ids("active_on=2019-12-31") == [first["id"]]
    assert ids("active_on=2020-01-01") == [second["id"]]
    assert ids("active_on=2017-06-01") == []
    assert ids("status=adopted") == [second["id"]]
    assert ids("region=AL-02") == []
    assert ids("region=AL-10&status=draft") == [first["id"]]

    page = client.get(f"{PLANS}?limit=1", headers=admin)
    assert [p["id"] for p in page.json()["items"]] == [second["id"]]
    assert 'rel="next"' in page.headers["Link"]
    cursor = page.json()["next_cursor"]
    rest = client.get(f"{PLANS}?limit=1&cursor={cursor}", headers=admin).json()
    assert [p["id"] for p in rest["items"]] == [first["id"]]
    assert rest["next_cursor"] is None


def test_plan_shows_linked_recommendations_under_their_activity(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    activity_id = _activity(plan, "1.1")["id"]
    meeting = make_meeting(db, body=make_body(db, region="AL-10"))
    from datetime import date

    late = make_recommendation(
        db, meeting=meeting, due_on=date(2018, 3, 31), activity_id=activity_id
    )
    done = make_recommendation(
        db,
        meeting=meeting,
        status="implemented",
        due_on=date(2018, 3, 31),
        activity_id=activity_id,
    )
    make_recommendation(db, meeting=meeting, due_on=date(2018, 3, 31))
    db.commit()
    fetched = client.get(f"{PLANS}/{plan['id']}", headers=admin).json()
    assert _activity(fetched, "1.1")["recommendations"] == [
        {"id": late.id, "status": "open", "overdue": True},
        {"id": done.id, "status": "implemented", "overdue": False},
    ]
    assert _activity(fetched, "1.2")["recommendations"] == []


def test_a_linked_recommendations_new_status_changes_the_plans_etag_not_its_version(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    url = f"{PLANS}/{plan['id']}"
    meeting = make_meeting(db, body=make_body(db, region="AL-10"))
    linked = make_recommendation(db, meeting=meeting, activity_id=_activity(plan, "1.1")["id"])
    db.commit()
    before = client.get(url, headers=admin)
    moved = client.patch(
        f"/api/v1/recommendations/{linked.id}", json={"status": "in_progress"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    # The plan shows the new status: its cached copy is stale, so no 304.
    after = client.get(url, headers={**admin, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert _activity(after.json(), "1.1")["recommendations"][0]["status"] == "in_progress"
    # The plan itself did not change: an edit made against the older copy still applies.
    edited = client.patch(
        url, json={"title": "Plani i ri"}, headers={**admin, "If-Match": before.headers["etag"]}
    )
    assert edited.status_code == 200, edited.text


# --- PATCH -------------------------------------------------------------------------------------


def test_patch_changes_plan_fields_and_edits_activities_in_place(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    activity = _activity(plan, "1.2")
    follow_up = client.post(
        f"/api/v1/activities/{activity['id']}/follow-ups",
        json={"reported_on": "2018-05-02", "institution": "ZVAP", "description": "Seanca e parë."},
        headers=admin,
    )
    assert follow_up.status_code == 201
    response = client.patch(
        f"{PLANS}/{plan['id']}",
        json={
            "title": "Plani i rishikuar",
            "status": "adopted",
            "national_reference": None,
            "activities": [
                {
                    "id": activity["id"],
                    "target": 12,
                    "deadline": "2019-09-30",
                    "budget": {"amount": 90000, "currency": "ALL"},
                    "responsible": [{"institution": "ZVAP"}, {"institution": "DVP", "lead": True}],
                }
            ],
        },
        headers={**admin, "If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"].startswith('"v2.')
    changed = response.json()
    assert (changed["title"], changed["status"], changed["national_reference"]) == (
        "Plani i rishikuar",
        "adopted",
        None,
    )
    edited = _activity(changed, "1.2")
    assert edited["id"] == activity["id"]
    assert (edited["target"], edited["deadline"], edited["version"]) == (12, "2019-09-30", 2)
    assert edited["budget"] == {"amount": 90000, "currency": "ALL"}
    assert edited["unit"] == "shkolla"
    assert [(r["institution"]["abbreviation"], r["lead"]) for r in edited["responsible"]] == [
        ("ZVAP", False),
        ("DVP", True),
    ]
    assert _activity(changed, "1.1") == _activity(plan, "1.1")
    kept = client.get(f"/api/v1/activities/{activity['id']}/follow-ups", headers=admin).json()
    assert kept["total"] == 1
    events = db.exec(
        select(AuditEvent).where(AuditEvent.entity == "action_plan", AuditEvent.action == "update")
    ).all()
    assert len(events) == 1
    assert events[0].before["activities"][0]["target"] == 10
    assert events[0].after["activities"][0]["target"] == 12


def test_patch_reports_every_problem_with_its_pointer(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    other = plan_document(period_start="2020-01-01", period_end="2021-12-31")
    for objective in other["objectives"]:
        for activity in objective["activities"]:
            activity["deadline"] = "2021-01-31"
    foreign = _activity(client.post(PLANS, json=other, headers=admin).json(), "1.1")["id"]
    own = _activity(plan, "1.1")["id"]
    response = client.patch(
        f"{PLANS}/{plan['id']}",
        json={
            "title": None,
            "activities": [
                {"id": own, "deadline": "2020-02-01"},
                {"id": foreign, "title": "x"},
                {"id": own, "unit": "x"},
                {
                    "id": _activity(plan, "2.1")["id"],
                    "responsible": [
                        {"institution": "DVP", "lead": True},
                        {"institution": "ZVAP", "lead": True},
                    ],
                },
            ],
        },
        headers=admin,
    )
    assert _errors(response) == {
        "/title": "must not be null",
        "/activities/0/deadline": "the deadline must lie inside the plan period "
        "2018-01-01–2019-12-31",
        "/activities/1/id": f"plan {plan['id']} has no activity {foreign}",
        "/activities/2/id": f"activity {own} is already edited at /activities/0",
        "/activities/3/responsible/1/lead": "an activity has at most one lead; "
        "/activities/3/responsible/0 already leads",
    }
    assert client.get(f"{PLANS}/{plan['id']}", headers=admin).json()["version"] == 1


def test_patch_cannot_set_an_activity_status(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    response = client.patch(
        f"{PLANS}/{plan['id']}",
        json={"activities": [{"id": _activity(plan, "1.1")["id"], "status": "completed"}]},
        headers=admin,
    )
    assert _errors(response) == {"/activities/0/status": "is not a field of this document"}


def test_patch_with_a_stale_etag_is_refused(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any]
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    url = f"{PLANS}/{plan['id']}"
    assert client.patch(url, json={"status": "adopted"}, headers=admin).status_code == 200
    stale = client.patch(url, json={"title": "T"}, headers={**admin, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"v2"'


def test_patch_is_refused_to_other_regions_and_readers(
    client: TestClient, admin: dict[str, str], shkoder: dict[str, Any], db: Session
) -> None:
    plan = client.post(PLANS, json=plan_document(), headers=admin).json()
    durres = make_token(db, "secretariat", region="AL-02")
    reader = make_token(db, "reader")
    own = make_token(db, "secretariat", region="AL-10")
    db.commit()
    url = f"{PLANS}/{plan['id']}"
    assert client.patch(url, json={"status": "adopted"}, headers=durres).status_code == 403
    assert client.patch(url, json={"status": "adopted"}, headers=reader).status_code == 403
    assert client.patch(url, json={"status": "adopted"}, headers=own).status_code == 200
