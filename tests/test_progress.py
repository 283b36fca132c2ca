"""Plan progress: figures recomputed by hand at two dates, and the rules on their own.

The plan (tests/factories.py `plan_document`) runs 2018-01-01..2019-12-31 (730 days):
  objective 1, prevention: 1.1 target 400, deadline 2018-12-31, DRSHSSH leads, ZVAP
                           1.2 target 10,  deadline 2019-06-30, ZVAP leads
  objective 2, protection: 2.1 target 50,  deadline 2018-06-30, DVP leads, DRSHSSH
                           2.2 no target,  deadline 2018-09-30, Bashkia Shkodër leads
Follow-ups (`reported_on`: value, status):
  1.1: 2018-03-15: 100 in_progress · 2018-10-06: 300 · 2019-03-01: 400 completed
  1.2: 2018-11-20: 4 in_progress · 2019-02-10: cancelled
  2.1: 2018-05-10: 20 in_progress · 2018-05-10 (later id): 25 · 2018-09-01: completed
  2.2: none
Recommendations: R1 open, due 2018-10-31, on 2.2; R2 in_progress, due 2019-03-31, on 1.1.
"""

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from app.action_plans.progress import activity_percent, elapsed_percent, is_delayed, round2
from app.db import get_engine

from factories import (
    make_body,
    make_meeting,
    make_plan_institutions,
    make_recommendation,
    make_token,
    plan_document,
)

PLANS = "/api/v1/action-plans"

FOLLOW_UPS = [
    ("1.1", "DRSHSSH", "2018-03-15", 100, "in_progress"),
    ("1.1", "DRSHSSH", "2018-10-06", 300, None),
    ("1.1", "DRSHSSH", "2019-03-01", 400, "completed"),
    ("1.2", "ZVAP", "2018-11-20", 4, "in_progress"),
    ("1.2", "ZVAP", "2019-02-10", None, "cancelled"),
    ("2.1", "DVP", "2018-05-10", 20, "in_progress"),
    ("2.1", "DVP", "2018-05-10", 25, None),
    ("2.1", "DVP", "2018-09-01", None, "completed"),
]


def _zeros(**counts: int) -> dict[str, int]:
    return {"not_started": 0, "in_progress": 0, "completed": 0, "cancelled": 0, **counts}


@pytest.fixture
def plan(client: TestClient, admin: dict[str, str], db: Session) -> dict[str, Any]:
    institutions = make_plan_institutions(db)
    db.commit()
    created = client.post(PLANS, json=plan_document(), headers=admin).json()
    ids = {a["code"]: a["id"] for o in created["objectives"] for a in o["activities"]}
    for code, institution, day, value, status in FOLLOW_UPS:
        document: dict[str, Any] = {
            "reported_on": day,
            "institution": institution,
            "description": "Raport i ndjekjes.",
        }
        if value is not None:
            document["progress_value"] = value
        if status is not None:
            document["status"] = status
        response = client.post(
            f"/api/v1/activities/{ids[code]}/follow-ups", json=document, headers=admin
        )
        assert response.status_code == 201, response.text
    meeting = make_meeting(db, body=make_body(db, region="AL-10"))
    r1 = make_recommendation(db, meeting=meeting, due_on=date(2018, 10, 31), activity_id=ids["2.2"])
    r2 = make_recommendation(
        db,
        meeting=meeting,
        status="in_progress",
        due_on=date(2019, 3, 31),
        activity_id=ids["1.1"],
    )
    db.commit()
    return {
        "id": created["id"],
        "activity": ids,
        "institutions": {k: v.id for k, v in institutions.items()},
        "r1": r1.id,
        "r2": r2.id,
    }


def _progress(client: TestClient, headers: dict[str, str], plan_id: int, query: str) -> Any:
    response = client.get(f"{PLANS}/{plan_id}/progress?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_progress_at_the_end_of_the_first_year(
    client: TestClient, plan: dict[str, Any], db: Session
) -> None:
    reader = make_token(db, "reader")
    db.commit()
    report = _progress(client, reader, plan["id"], "as_of=2018-12-31").json()
    assert report["plan"] == {
        "id": plan["id"],
        "region": "AL-10",
        "title": "Plani 2-vjeçar i Veprimit Antitrafik, Qarku Shkodër 2018–2019",
        "period_start": "2018-01-01",
        "period_end": "2019-12-31",
    }
    assert report["as_of"] == "2018-12-31"
    # The 2019 reports (1.1 completed, 1.2 cancelled) are not yet counted.
    # 1.1: in_progress, 300/400 = 75.0; deadline 2018-12-31 is not *before* as_of: not delayed.
    # 1.2: in_progress, 4/10 = 40.0.  2.1: completed → 100.0 (value 25 from the later report
    # of 2018-05-10).  2.2: no report → not_started, 0.0; deadline 2018-09-30 passed: delayed.
    rows = {a["code"]: a for a in report["activities"]}
    assert [a["code"] for a in report["activities"]] == ["1.1", "1.2", "2.1", "2.2"]
    assert rows["1.1"] == {
        "id": plan["activity"]["1.1"],
        "code": "1.1",
        "objective": "1",
        "pillar": "prevention",
        "title": "Takime informuese me prindërit në komunitetet vulnerabël",
        "status": "in_progress",
        "delayed": False,
        "deadline": "2018-12-31",
        "target": 400,
        "unit": "prindër",
        "progress_value": 300,
        "percent": 75.0,
        "last_follow_up_on": "2018-10-06",
        "responsible": [
            {
                "institution": {
                    "id": plan["institutions"]["DRSHSSH"],
                    "name": "Drejtoria Rajonale e Shërbimit Social Shtetëror Shkodër",
                },
                "lead": True,
            },
            {
                "institution": {
                    "id": plan["institutions"]["ZVAP"],
                    "name": "Zyra Vendore e Arsimit Parauniversitar Shkodër",
                },
                "lead": False,
            },
        ],
        # R2 is due 2019-03-31: not overdue on 2018-12-31.
        "recommendations": [{"id": plan["r2"], "status": "in_progress", "overdue": False}],
    }
    figures = {
        code: (r["status"], r["progress_value"], r["percent"], r["delayed"], r["last_follow_up_on"])
        for code, r in rows.items()
    }
    assert figures == {
        "1.1": ("in_progress", 300, 75.0, False, "2018-10-06"),
        "1.2": ("in_progress", 4, 40.0, False, "2018-11-20"),
        "2.1": ("completed", 25, 100.0, False, "2018-09-01"),
        "2.2": ("not_started", None, 0.0, True, None),
    }
    assert rows["2.2"]["recommendations"] == [{"id": plan["r1"], "status": "open", "overdue": True}]
    # Overall: mean (75 + 40 + 100 + 0) / 4 = 53.75; elapsed 364 days of 730 = 49.863… → 49.86.
    assert report["overall"] == {
        "activities": 4,
        **_zeros(not_started=1, in_progress=2, completed=1),
        "delayed": 1,
        "percent": 53.75,
        "elapsed_percent": 49.86,
    }
    # Prevention: (75 + 40) / 2 = 57.5; protection: (100 + 0) / 2 = 50.0; the others are empty.
    assert report["by_pillar"] == [
        {"pillar": "prevention", "activities": 2, **_zeros(in_progress=2), "delayed": 0,
         "percent": 57.5},
        {"pillar": "protection", "activities": 2, **_zeros(not_started=1, completed=1),
         "delayed": 1, "percent": 50.0},
        {"pillar": "prosecution", "activities": 0, **_zeros(), "delayed": 0, "percent": 0.0},
        {"pillar": "partnership", "activities": 0, **_zeros(), "delayed": 0, "percent": 0.0},
    ]  # fmt: skip
    objectives = [
        (o["code"], o["pillar"], o["activities"], o["percent"]) for o in report["by_objective"]
    ]
    assert objectives == [("1", "prevention", 2, 57.5), ("2", "protection", 2, 50.0)]
    # Institutions by name: Bashkia (2.2: 0) · DRSHSSH (1.1 lead: 75, 2.1: 100 → 87.5)
    # · DVP (2.1 lead: 100) · ZVAP (1.1: 75, 1.2 lead: 40 → 57.5).
    by_institution = [
        (i["institution"]["name"].split()[0], i["activities"], i["lead_activities"],
         i["in_progress"], i["completed"], i["not_started"], i["delayed"], i["percent"])
        for i in report["by_institution"]
    ]  # fmt: skip
    assert by_institution == [
        ("Bashkia", 1, 1, 0, 0, 1, 1, 0.0),
        ("Drejtoria", 2, 1, 1, 1, 0, 0, 87.5),
        ("Drejtoria", 1, 1, 0, 1, 0, 0, 100.0),
        ("Zyra", 2, 1, 2, 0, 0, 0, 57.5),
    ]
    assert report["by_institution"][1]["institution"]["id"] == plan["institutions"]["DRSHSSH"]


def test_progress_in_the_middle_of_the_second_year(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    report = _progress(client, admin, plan["id"], "as_of=2019-07-01").json()
    rows = {a["code"]: a for a in report["activities"]}
    # 1.1: completed on 2019-03-01 → 100.0.  1.2: cancelled on 2019-02-10; its value is still
    # 4 (the latest report with a value) → 40.0; deadline 2019-06-30 passed, but a cancelled
    # activity is not delayed.  2.1 completed → 100.0.  2.2 still not started and delayed.
    figures = {
        code: (r["status"], r["progress_value"], r["percent"], r["delayed"], r["last_follow_up_on"])
        for code, r in rows.items()
    }
    assert figures == {
        "1.1": ("completed", 400, 100.0, False, "2019-03-01"),
        "1.2": ("cancelled", 4, 40.0, False, "2019-02-10"),
        "2.1": ("completed", 25, 100.0, False, "2018-09-01"),
        "2.2": ("not_started", None, 0.0, True, None),
    }
    # R2 (in_progress, due 2019-03-31) is overdue by now.
    assert rows["1.1"]["recommendations"] == [
        {"id": plan["r2"], "status": "in_progress", "overdue": True}
    ]
    # Mean over the non-cancelled: (100 + 100 + 0) / 3 = 66.666… → 66.67.
    # Elapsed: 2018-01-01 → 2019-07-01 is 365 + 181 = 546 days; 546 / 730 = 74.794… → 74.79.
    assert report["overall"] == {
        "activities": 4,
        **_zeros(not_started=1, completed=2, cancelled=1),
        "delayed": 1,
        "percent": 66.67,
        "elapsed_percent": 74.79,
    }
    # Prevention: 1.1 = 100, 1.2 cancelled (counted, not averaged) → 100.0.
    assert report["by_pillar"][0] == {
        "pillar": "prevention",
        "activities": 2,
        **_zeros(completed=1, cancelled=1),
        "delayed": 0,
        "percent": 100.0,
    }
    zvap = report["by_institution"][3]
    assert zvap["institution"]["id"] == plan["institutions"]["ZVAP"]
    assert (zvap["activities"], zvap["completed"], zvap["cancelled"], zvap["percent"]) == (
        2,
        1,
        1,
        100.0,
    )


def test_progress_before_the_period_is_all_zero(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    report = _progress(client, admin, plan["id"], "as_of=2017-11-30").json()
    assert report["overall"] == {
        "activities": 4,
        **_zeros(not_started=4),
        "delayed": 0,
        "percent": 0.0,
        "elapsed_percent": 0.0,
    }
    assert all(a["last_follow_up_on"] is None for a in report["activities"])


def test_progress_defaults_to_today_and_answers_304(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    response = _progress(client, admin, plan["id"], "")
    report = response.json()
    assert report["as_of"] >= "2019-07-01"
    assert report["overall"]["elapsed_percent"] == 100.0
    again = client.get(
        f"{PLANS}/{plan['id']}/progress",
        headers={**admin, "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_progress_of_an_unknown_plan_is_not_found(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert client.get(f"{PLANS}/404/progress", headers=admin).status_code == 404


def test_progress_costs_the_same_queries_whatever_the_plan_size(
    client: TestClient, plan: dict[str, Any], admin: dict[str, str]
) -> None:
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(args[2])

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        _progress(client, admin, plan["id"], "as_of=2019-07-01")
        small = len(counted)
        bigger = plan_document(period_start="2020-01-01", period_end="2021-12-31")
        activities = bigger["objectives"][0]["activities"]
        for n in range(12):
            activities.append({**activities[1], "code": f"1.{n + 3}", "deadline": "2021-01-01"})
        for objective in bigger["objectives"]:
            for activity in objective["activities"]:
                activity["deadline"] = "2021-01-01"
        bigger_id = client.post(PLANS, json=bigger, headers=admin).json()["id"]
        counted.clear()
        _progress(client, admin, bigger_id, "as_of=2021-07-01")
        assert len(counted) == small
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- the rules, on their own -------------------------------------------------------------------


def test_percent_rule() -> None:
    assert activity_percent("completed", None, None) == 100.0
    assert activity_percent("completed", 1, 400) == 100.0
    assert activity_percent("in_progress", 300, 400) == 75.0
    assert activity_percent("in_progress", 60, 50) == 100.0  # capped
    assert activity_percent("in_progress", 1, 3) == 33.33  # 33.333…
    assert activity_percent("in_progress", 2, 3) == 66.67  # 66.666…
    assert activity_percent("in_progress", 5, 0) == 0.0  # no meaningful target
    assert activity_percent("in_progress", None, 400) == 0.0
    assert activity_percent("cancelled", 200, 400) == 50.0


def test_rounding_is_half_up_on_the_decimal_digits() -> None:
    assert round2(2.675) == 2.68  # round() would give 2.67 (binary 2.67499…)
    assert round2(0.125) == 0.13
    assert round2(49.863013698630136) == 49.86


def test_delayed_rule() -> None:
    as_of = date(2019, 1, 1)
    assert is_delayed(date(2018, 12, 31), "in_progress", as_of)
    assert is_delayed(date(2018, 12, 31), "not_started", as_of)
    assert not is_delayed(date(2019, 1, 1), "in_progress", as_of)  # due today: not yet late
    assert not is_delayed(date(2018, 12, 31), "completed", as_of)
    assert not is_delayed(date(2018, 12, 31), "cancelled", as_of)
    assert not is_delayed(None, "not_started", as_of)


def test_elapsed_rule() -> None:
    start, end = date(2018, 1, 1), date(2019, 12, 31)
    assert elapsed_percent(start, end, date(2019, 1, 1)) == 50.0  # 365 / 730
    assert elapsed_percent(start, end, start) == 0.0
    assert elapsed_percent(start, end, date(2017, 1, 1)) == 0.0
    assert elapsed_percent(start, end, end) == 99.86  # 729 / 730
    assert elapsed_percent(start, end, date(2020, 1, 1)) == 100.0
    assert elapsed_percent(start, end, date(2025, 1, 1)) == 100.0


def test_openapi_documents_the_rules(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/action-plans/{plan_id}/progress"]["get"]
    for phrase in ("percent", "delayed", "elapsed_percent", "cancelled", "half up", "as_of"):
        assert phrase in operation["description"]
    assert {"text/csv", "application/json"} <= set(operation["responses"]["200"]["content"])
