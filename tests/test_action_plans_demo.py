"""The demo plans: loaded through the services, idempotent, with real progress to show."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app import demo
from app.action_plans.demo import load_demo_plans

PLANS = "/api/v1/action-plans"


def test_demo_plans_load_once_with_progress(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    demo.load_reference(db)
    assert load_demo_plans(db) == 2
    db.commit()
    assert load_demo_plans(db) == 0
    db.commit()

    listed = client.get(PLANS, headers=admin).json()
    assert sorted(p["region"] for p in listed["items"]) == ["AL-02", "AL-10"]
    shkoder = client.get(f"{PLANS}?region=AL-10", headers=admin).json()["items"][0]
    assert (shkoder["period_start"], shkoder["period_end"]) == ("2018-01-01", "2019-12-31")

    report = client.get(f"{PLANS}/{shkoder['id']}/progress?as_of=2019-07-01", headers=admin).json()
    overall = report["overall"]
    assert overall["activities"] == 8
    assert overall["completed"] == 2
    assert overall["cancelled"] == 1
    assert overall["delayed"] >= 1
    assert 0 < overall["percent"] < 100
    assert {p["pillar"] for p in report["by_pillar"] if p["activities"]} == {
        "prevention",
        "protection",
        "partnership",
    }
    assert all(a["responsible"] for a in report["activities"])
    first_year = client.get(
        f"{PLANS}/{shkoder['id']}/progress?as_of=2018-12-31", headers=admin
    ).json()
    assert first_year["overall"]["percent"] < overall["percent"]
