"""Demo action plans (app/demo/plans/*.json), loaded through the same services as the API."""

import json
from importlib import resources
from typing import Any

from sqlmodel import Session, col, select

from app.action_plans import follow_ups
from app.action_plans import service as plans
from app.action_plans.schemas import ActivityFollowUpCreate, PlanCreate
from app.auth import Actor
from app.models import ActionPlan, Activity, Role
from app.regions import service as regions


def _documents() -> list[dict[str, Any]]:
    folder = resources.files("app.demo").joinpath("plans")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    return [json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names]


def _has_overlapping_plan(session: Session, document: PlanCreate) -> bool:
    found = session.exec(
        select(ActionPlan.id).where(
            ActionPlan.region_id == regions.region_id(document.region),
            ActionPlan.period_start <= document.period_end,
            ActionPlan.period_end >= document.period_start,
        )
    ).first()
    return found is not None


def load_demo_plans(session: Session, *, actor_name: str = "demo") -> int:
    """Create the demo plans and post their follow-ups; return how many plans were created.

    A plan whose region already has a plan overlapping its period is skipped, so loading twice
    creates nothing the second time. Needs the reference institutions (`krat demo`) first.
    """
    actor = Actor(actor_name, Role.admin)
    created = 0
    for spec in _documents():
        document = PlanCreate.model_validate(spec["plan"])
        if _has_overlapping_plan(session, document):
            continue
        plan = plans.create(session, document, actor=actor)
        codes: dict[str, int] = {
            code: activity_id or 0
            for code, activity_id in session.exec(
                select(Activity.code, col(Activity.id)).where(Activity.action_plan_id == plan.id)
            ).all()
        }
        for report in spec.get("follow_ups", []):
            fields = {key: value for key, value in report.items() if key != "activity"}
            data = ActivityFollowUpCreate.model_validate(fields)
            follow_ups.create(session, codes[report["activity"]], data, actor=actor)
        created += 1
    return created
