"""Follow-ups on plan activities: who may report, what is checked, how status moves."""

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent

from factories import make_plan_institutions, make_token, plan_document

PLANS = "/api/v1/action-plans"


@pytest.fixture
def plan(client: TestClient, admin: dict[str, str], db: Session) -> dict[str, Any]:
    institutions = make_plan_institutions(db)
    db.commit()
    response = client.post(PLANS, json=plan_document(), headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    created["institutions"] = institutions
    created["activity"] = {
        a["code"]: a["id"] for o in created["objectives"] for a in o["activities"]
    }
    return created


def _url(activity_id: int) -> str:
    return f"/api/v1/activities/{activity_id}/follow-ups"


def _report(**fields: Any) -> dict[str, Any]:
    return {"reported_on": "2018-10-06", "description": "U zhvilluan 6 takime.", **fields}


def test_responsible_institution_reports_as_itself(
    client: TestClient, plan: dict[str, Any], db: Session
) -> None:
    zvap = plan["institutions"]["ZVAP"]
    headers = make_token(db, "institution", institution_id=zvap.id, name="zvap-shkoder")
    db.commit()
    url = _url(plan["activity"]["1.1"])
    response = client.post(url, json=_report(progress_value=120), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{url}/{body['id']}"
    assert body["activity_id"] == plan["activity"]["1.1"]
    assert body["recommendation_id"] is None
    assert body["institution"]["id"] == zvap.id
    assert body["progress_value"] == 120
    assert body["new_status"] is None
    assert body["actor"] == "zvap-shkoder"
    assert client.get(response.headers["Location"], headers=headers).json() == body
    listed = client.get(url, headers=headers).json()
    assert listed["total"] == 1
    assert listed["items"] == [body]


def test_institution_tokens_report_only_on_their_activities_as_themselves(
    client: TestClient, plan: dict[str, Any], db: Session
) -> None:
    zvap = make_token(db, "institution", institution_id=plan["institutions"]["ZVAP"].id)
    db.commit()
    not_responsible = client.post(_url(plan["activity"]["2.1"]), json=_report(), headers=zvap)
    assert not_responsible.status_code == 403
    as_other = client.post(
        _url(plan["activity"]["1.1"]), json=_report(institution="DRSHSSH"), headers=zvap
    )
    assert as_other.status_code == 403
    as_itself = client.post(
        _url(plan["activity"]["1.1"]), json=_report(institution="zvap"), headers=zvap
    )
    assert as_itself.status_code == 201


def test_readers_and_other_regions_may_not_report(
    client: TestClient, plan: dict[str, Any], db: Session
) -> None:
    reader = make_token(db, "reader")
    durres = make_token(db, "secretariat", region="AL-02")
    shkoder = make_token(db, "secretariat", region="AL-10")
    db.commit()
    url = _url(plan["activity"]["2.2"])
    document = _report(institution="Bashkia Shkodër")
    assert client.post(url, json=document, headers=reader).status_code == 403
    assert client.post(url, json=document, headers=durres).status_code == 403
    assert client.post(url, json=document, headers=shkoder).status_code == 201
    assert client.get(url, headers=reader).json()["total"] == 1


def test_a_secretariat_must_name_the_reporting_institution(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    response = client.post(_url(plan["activity"]["1.1"]), json=_report(), headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"pointer": "/institution", "detail": "is required: name the institution that reports"}
    ]


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        (
            {"reported_on": (date.today() + timedelta(days=2)).isoformat()},
            "/reported_on",
            "date is in the future",
        ),
        (
            {"reported_on": "2017-12-31"},
            "/reported_on",
            "must not be before 2018-01-01 (the day the plan period starts)",
        ),
        ({"progress_value": -1}, "/progress_value", "must be ≥ 0.0"),
        ({"status": "done"}, "/status", None),
        ({"description": " "}, "/description", "must not be empty"),
    ],
    ids=["future", "before-period", "negative-value", "unknown-status", "empty-description"],
)
def test_invalid_follow_up_is_refused_with_a_pointer(
    client: TestClient,
    plan: dict[str, Any],
    admin: dict[str, str],
    fields: dict[str, Any],
    where: str,
    message: str | None,
) -> None:
    document = _report(institution="DRSHSSH", **fields)
    response = client.post(_url(plan["activity"]["1.1"]), json=document, headers=admin)
    assert response.status_code == 422, response.text
    errors = {e["pointer"]: e["detail"] for e in response.json()["errors"]}
    assert list(errors) == [where]
    if message is not None:
        assert errors[where] == message


def test_unknown_activity_is_not_found(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get(_url(999), headers=admin).status_code == 404
    response = client.post(_url(999), json=_report(institution=1), headers=admin)
    assert response.status_code == 404
    assert response.json()["detail"] == "there is no activity 999"


def test_follow_up_of_another_activity_is_not_found(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    created = client.post(
        _url(plan["activity"]["1.1"]), json=_report(institution="DRSHSSH"), headers=admin
    ).json()
    other = client.get(f"{_url(plan['activity']['1.2'])}/{created['id']}", headers=admin)
    assert other.status_code == 404


def test_status_in_a_follow_up_moves_the_activity_and_the_plan_version(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str], db: Session
) -> None:
    activity_id = plan["activity"]["1.1"]
    url = _url(activity_id)
    moved = client.post(
        url, json=_report(institution="DRSHSSH", status="in_progress"), headers=admin
    )
    assert moved.status_code == 201
    assert moved.json()["new_status"] == "in_progress"
    tree = client.get(f"{PLANS}/{plan['id']}", headers=admin)
    assert tree.headers["ETag"].startswith('"v2.')
    activity = tree.json()["objectives"][0]["activities"][0]
    assert (activity["status"], activity["version"]) == ("in_progress", 2)

    # A report dated before the latest status does not override it...
    earlier = _report(institution="DRSHSSH", reported_on="2018-05-01", status="completed")
    assert client.post(url, json=earlier, headers=admin).status_code == 201
    tree = client.get(f"{PLANS}/{plan['id']}", headers=admin)
    assert tree.json()["objectives"][0]["activities"][0]["status"] == "in_progress"
    assert tree.headers["ETag"].startswith('"v2.')
    # ...a later one does; the same date is decided by the later report.
    later = _report(institution="DRSHSSH", status="completed")
    assert client.post(url, json=later, headers=admin).status_code == 201
    activity = client.get(f"{PLANS}/{plan['id']}", headers=admin).json()["objectives"][0][
        "activities"
    ][0]
    assert (activity["status"], activity["version"]) == ("completed", 3)

    changes = db.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == "activity", AuditEvent.entity_id == activity_id)
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.before["status"], e.after["status"]) for e in changes] == [
        ("not_started", "in_progress"),
        ("in_progress", "completed"),
    ]
    created = db.exec(select(AuditEvent).where(AuditEvent.entity == "follow_up")).all()
    assert len(created) == 3


def test_follow_ups_are_listed_latest_report_first(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    url = _url(plan["activity"]["2.1"])
    for day in ("2018-03-01", "2018-09-01", "2018-05-01"):
        document = _report(institution="DVP", reported_on=day)
        assert client.post(url, json=document, headers=admin).status_code == 201
    first = client.get(f"{url}?limit=2", headers=admin).json()
    assert [f["reported_on"] for f in first["items"]] == ["2018-09-01", "2018-05-01"]
    rest = client.get(f"{url}?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    assert [f["reported_on"] for f in rest["items"]] == ["2018-03-01"]
