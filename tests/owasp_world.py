"""Shared by the OWASP API Security Top 10 modules: the app's routes, and a small world to attack.

The world is Durrës (AL-02) with one record of every kind a client can write — a Technical
Table, institutions, minutes with a problem and recommendations, an action plan with an
activity, a token — and Shkodër (AL-10) with a Technical Table of its own. `write_requests`
gives, for every write route of the app, one request against the Durrës records that succeeds
when an allowed actor sends it, so a refusal in the matrices is about who asks, never about a
malformed request.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session, SQLModel, select

from app.action_plans import service as plans
from app.action_plans.schemas import PlanCreate
from app.auth import Actor
from app.db import get_engine
from app.models import (
    Activity,
    ApiToken,
    Problem,
    Recommendation,
    RecommendationResponsible,
    Role,
)

from factories import make_body, make_institution, make_token, post_minutes

API = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Answer without a token by design (SECURITY.md); everything else needs one.
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
}
ROLES = ["admin", "secretariat AL-02", "secretariat AL-10", "institution", "reader"]


@dataclass(frozen=True)
class RouteInfo:
    """One method of one route, as the application serves it."""

    method: str
    path: str
    route: APIRoute | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def takes_id(self) -> bool:
        return "{" in self.path


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) the application answers, HEAD aside, included routers expanded."""
    found = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        for method in sorted(context.methods or ()):
            if method != "HEAD" and context.path:
                api_route = original if isinstance(original, APIRoute) else None
                found.append(RouteInfo(method, context.path, api_route))
    return found


def write_routes(app: FastAPI) -> list[RouteInfo]:
    return [r for r in app_routes(app) if r.method in WRITE_METHODS]


def protected_routes(app: FastAPI) -> list[RouteInfo]:
    return [r for r in app_routes(app) if r.path not in PUBLIC_PATHS]


@dataclass
class World:
    """Ids of the Durrës records under attack, and a token of every role."""

    institution: int
    technical_table: int
    shkoder_table: int
    meeting: int
    problem: int
    recommendation: int
    plan: int
    activity: int
    token: int
    responsible_institution: int
    other_institution: int
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


FACTORY = Actor("factory", Role.admin)


def build_world(session: Session, admin: dict[str, str]) -> World:
    """Add the Durrës and Shkodër records and a token of every role; commit."""
    # No Durrës committee yet: creating one is the body-creating request of the matrix.
    make_body(session, name="Tryeza Teknike Durrës", region="AL-02")
    shkoder = make_body(session, name="Tryeza Teknike Shkodër", region="AL-10")
    made = {
        key: make_institution(session, name=name, abbreviation=abbreviation, kind=kind)
        for key, (name, abbreviation, kind) in {
            "prefecture": ("Prefektura e Qarkut Durrës", None, "prefecture"),
            "municipality": ("Bashkia Durrës", None, "municipality"),
            "zvap": ("Zyra Vendore e Arsimit Parauniversitar Durrës", "ZVAP", "education"),
            "drshssh": (
                "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
                "DRSHSSH",
                "social_service",
            ),
            "police": ("Drejtoria Vendore e Policisë Durrës", "DVP", "police"),
        }.items()
    }
    meeting = post_minutes(session)
    problem = session.exec(select(Problem).where(Problem.meeting_id == meeting.id)).one()
    recommendation = session.exec(
        select(Recommendation).where(
            Recommendation.meeting_id == meeting.id, Recommendation.key == "r1"
        )
    ).one()
    responsible = set(
        session.exec(
            select(RecommendationResponsible.institution_id).where(
                RecommendationResponsible.recommendation_id == recommendation.id
            )
        ).all()
    )
    assert made["zvap"].id in responsible and made["police"].id not in responsible
    plan = plans.create(
        session, PlanCreate.model_validate(plan_document("2018-01-01")), actor=FACTORY
    )
    activity = session.exec(select(Activity).where(Activity.action_plan_id == plan.id)).one()
    headers = {
        "admin": admin,
        "secretariat AL-02": make_token(session, "secretariat", region="AL-02"),
        "secretariat AL-10": make_token(session, "secretariat", region="AL-10"),
        "institution": make_token(session, "institution", institution_id=made["zvap"].id),
        "reader": make_token(session, "reader"),
        "institution not responsible": make_token(
            session, "institution", institution_id=made["police"].id
        ),
    }
    make_token(session, "secretariat", region="AL-02", name="sekretariati-durres")
    token = session.exec(select(ApiToken).where(ApiToken.name == "sekretariati-durres")).one()
    session.commit()
    return World(
        institution=made["municipality"].id or 0,
        technical_table=meeting.body_id,
        shkoder_table=shkoder.id or 0,
        meeting=meeting.id,
        problem=problem.id or 0,
        recommendation=recommendation.id or 0,
        plan=plan.id or 0,
        activity=activity.id or 0,
        token=token.id or 0,
        responsible_institution=made["zvap"].id or 0,
        other_institution=made["police"].id or 0,
        headers=headers,
    )


def plan_document(period_start: str, **overrides: Any) -> dict[str, Any]:
    """A one-activity Durrës plan over two years from `period_start` (ZVAP leads it)."""
    start = date.fromisoformat(period_start)
    document: dict[str, Any] = {
        "region": "AL-02",
        "title": f"Plani i Veprimit Antitrafik, Qarku Durrës {start.year}–{start.year + 1}",
        "period_start": period_start,
        "period_end": f"{start.year + 1}-12-31",
        "objectives": [
            {
                "code": "1",
                "pillar": "prevention",
                "title": "Ndërgjegjësimi i nxënësve",
                "activities": [
                    {
                        "code": "1.1",
                        "title": "Seanca ndërgjegjësimi në shkollat e mesme",
                        "responsible": [{"institution": "ZVAP", "lead": True}],
                        "target": 10,
                        "unit": "shkolla",
                        "deadline": f"{start.year + 1}-06-30",
                    }
                ],
            }
        ],
    }
    document.update(overrides)
    return document


@dataclass(frozen=True)
class WriteRequest:
    """A request to a write route that an allowed actor may send successfully."""

    method: str
    path: str
    json: Any = None
    expected: int = 200


def write_requests(world: World) -> dict[str, WriteRequest]:
    """One request per write route of the app (keyed "METHOD /template"), on Durrës records."""
    from factories import minutes_document

    def request(method: str, template: str, path: str, json: Any = None, expected: int = 200):
        return f"{method} {API}{template}", WriteRequest(method, API + path, json, expected)

    follow_up = {"reported_on": "2018-01-15", "description": "U mbajt takimi i parë i grupit."}
    table = [
        request(
            "POST",
            "/institutions",
            "/institutions",
            {"name": "Qendra Sociale Emanuel Durrës", "kind": "ngo", "region": "AL-02"},
            201,
        ),
        request(
            "PATCH",
            "/institutions/{institution_id}",
            f"/institutions/{world.institution}",
            {"active": False},
        ),
        request(
            "POST",
            "/bodies",
            "/bodies",
            {"kind": "committee", "region": "AL-02", "name": "Komiteti Rajonal Antitrafik Durrës"},
            201,
        ),
        request(
            "PATCH",
            "/bodies/{body_id}",
            f"/bodies/{world.technical_table}",
            {"name": "Tryeza Teknike e Qarkut Durrës"},
        ),
        request(
            "PUT",
            "/bodies/{body_id}/members",
            f"/bodies/{world.technical_table}/members",
            [{"institution": world.institution, "role": "member"}],
        ),
        request(
            "POST",
            "/meetings",
            "/meetings",
            minutes_document(
                external_ref="DR-TT-2017-11-24", held_on="2017-11-24", new_institutions=[]
            ),
            201,
        ),
        request(
            "PUT",
            "/meetings/{meeting_id}",
            f"/meetings/{world.meeting}",
            minutes_document(title="Takim me Tryezën Teknike KRAT (procesverbal i korrigjuar)"),
        ),
        request("DELETE", "/meetings/{meeting_id}", f"/meetings/{world.meeting}", None, 204),
        request(
            "PATCH",
            "/problems/{problem_id}",
            f"/problems/{world.problem}",
            {"theme": "child_protection"},
        ),
        request("POST", "/tokens", "/tokens", {"name": "paneli-kombetar", "role": "reader"}, 201),
        request("DELETE", "/tokens/{token_id}", f"/tokens/{world.token}", None, 204),
        request(
            "PATCH",
            "/recommendations/{recommendation_id}",
            f"/recommendations/{world.recommendation}",
            {"status": "in_progress"},
        ),
        request(
            "POST",
            "/recommendations/{recommendation_id}/follow-ups",
            f"/recommendations/{world.recommendation}/follow-ups",
            {**follow_up, "institution": "ZVAP"},
            201,
        ),
        request("POST", "/action-plans", "/action-plans", plan_document("2020-01-01"), 201),
        request(
            "PATCH",
            "/action-plans/{plan_id}",
            f"/action-plans/{world.plan}",
            {"status": "adopted"},
        ),
        request(
            "POST",
            "/activities/{activity_id}/follow-ups",
            f"/activities/{world.activity}/follow-ups",
            {**follow_up, "institution": "ZVAP", "progress_value": 3},
            201,
        ),
    ]
    return dict(table)


def database_fingerprint() -> dict[str, list[Any]]:
    """Every row of every table, in key order: equal fingerprints mean nothing was written."""
    rows = {}
    with get_engine().connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            result = connection.execute(table.select().order_by(*order))
            rows[table.name] = [tuple(row) for row in result]
    return rows
