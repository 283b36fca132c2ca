"""Demo data: the 12 regions' committees, Technical Tables and member institutions.

Loaded through the same services the API uses (so it is validated and audited like any
write). Idempotent: each part is skipped when the database already holds it.
"""

import json
from importlib import resources
from typing import Any

from sqlmodel import Session, select

from app.action_plans.demo import load_demo_plans
from app.auth import Actor
from app.bodies import service as bodies
from app.bodies.schemas import BodyCreate, MemberIn
from app.institutions import service as institutions
from app.institutions.schemas import InstitutionCreate
from app.meetings.service import load_demo_minutes
from app.models import Body, Institution, MemberRole, Role
from app.regions import service as regions

DEMO_ACTOR = Actor("demo", Role.admin)


def _reference() -> dict[str, Any]:
    text = resources.files("app.demo").joinpath("reference.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_reference(session: Session, *, actor: Actor = DEMO_ACTOR) -> int:
    """Create the bodies and institutions of the reference data; return how many were made."""
    if session.exec(select(Body.id)).first() is not None:
        return 0
    data = _reference()
    created = 0
    for spec in data["national_institutions"]:
        institutions.create(session, InstitutionCreate(**spec), actor=actor)
        created += 1
    for region in regions.all_regions():
        created += _load_region(session, data, region.code, region.name, actor=actor)
    return created


def _load_region(
    session: Session, data: dict[str, Any], code: str, name: str, *, actor: Actor
) -> int:
    specs = data["regional_institutions"] + data["extra_regional_institutions"].get(code, [])
    members: list[MemberIn] = []
    for spec in specs:
        fields = {k: v for k, v in spec.items() if k != "role"}
        fields["name"] = fields["name"].format(region=name)
        institution = institutions.create(
            session, InstitutionCreate(**fields, region=code), actor=actor
        )
        role = MemberRole(spec.get("role", MemberRole.member))
        members.append(MemberIn(institution=institution.id or 0, role=role))
    parent: Body | None = None
    for spec in data["bodies"]:
        body = bodies.create(
            session,
            BodyCreate(
                kind=spec["kind"],
                region=code,
                name=spec["name"].format(region=name),
                parent_id=parent.id if parent else None,
            ),
            actor=actor,
        )
        bodies.replace_members(session, body, members, actor=actor)
        parent = parent or body
    return len(specs) + len(data["bodies"])


def is_empty(session: Session) -> bool:
    """Tell whether the database holds no institutions yet."""
    return session.exec(select(Institution.id)).first() is None


def load_all(session: Session) -> dict[str, int]:
    """Load every part of the demo data that is not there yet; return counts per part.

    The seed meetings and the plans refer to the reference institutions, so they come after.
    """
    counts = {"reference": load_reference(session)}
    counts["meetings"] = load_demo_minutes(session, actor_name=DEMO_ACTOR.name)
    counts["plans"] = load_demo_plans(session, actor_name=DEMO_ACTOR.name)
    return counts
