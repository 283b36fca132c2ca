"""Plain factory functions for test data: they add and flush, the test commits."""

from typing import Any

from sqlmodel import Session

from app.auth import hash_token, new_token
from app.institutions.service import derive_level
from app.models import ApiToken, Body, Institution, Role
from app.text import fold


def region_id(code: str) -> int:
    return int(code.removeprefix("AL-"))


def make_institution(session: Session, **overrides: Any) -> Institution:
    """Add an institution (regional in Durrës unless told otherwise)."""
    name = overrides.pop("name", "Drejtoria Vendore e Policisë Durrës")
    abbreviation = overrides.pop("abbreviation", None)
    region = overrides.pop("region", "AL-02")
    kind = overrides.pop("kind", "police")
    rid = region_id(region) if region else None
    institution = Institution(
        name=name,
        name_folded=fold(name),
        abbreviation=abbreviation,
        abbreviation_folded=fold(abbreviation) if abbreviation else None,
        kind=kind,
        level=overrides.pop("level", derive_level(kind, rid)),
        region_id=rid,
        **overrides,
    )
    session.add(institution)
    session.flush()
    return institution


def make_body(session: Session, **overrides: Any) -> Body:
    """Add a body (Durrës's Technical Table unless told otherwise)."""
    region = overrides.pop("region", "AL-02")
    kind = overrides.pop("kind", "technical_table")
    name = overrides.pop("name", f"Tryeza Teknike {region}")
    body = Body(
        kind=kind, region_id=region_id(region), name=name, name_folded=fold(name), **overrides
    )
    session.add(body)
    session.flush()
    return body


def make_token(
    session: Session,
    role: str = "reader",
    *,
    region: str | None = None,
    institution_id: int | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """Add an API token and return the Authorization header that carries it."""
    token = new_token()
    session.add(
        ApiToken(
            name=name or f"{role}-{region or institution_id or 'all'}-{token[-6:]}",
            role=Role(role),
            region_id=region_id(region) if region else None,
            institution_id=institution_id,
            token_hash=hash_token(token),
        )
    )
    session.flush()
    return {"Authorization": f"Bearer {token}"}


# --- meetings and recommendations (appended for the recommendations tests) ---------------------


def make_meeting(session: Session, *, body: Body, held_on: Any = None, **overrides: Any) -> Any:
    """Add a meeting of `body` (region copied from it), held on `held_on` (default 2017-10-27)."""
    from datetime import date

    from app.models import Meeting

    title = overrides.pop("title", "Takim me Tryezën Teknike KRAT")
    meeting = Meeting(
        body_id=body.id or 0,
        region_id=body.region_id,
        external_ref=overrides.pop("external_ref", f"REF-{new_token()[-10:]}"),
        held_on=held_on or date(2017, 10, 27),
        kind=overrides.pop("kind", "regular"),
        title=title,
        document_hash=overrides.pop("document_hash", "0" * 64),
        **overrides,
    )
    if hasattr(meeting, "title_folded"):
        meeting.title_folded = fold(title)
    session.add(meeting)
    session.flush()
    return meeting


def make_recommendation(
    session: Session,
    *,
    meeting: Any,
    text: str = "Ngritja e një mekanizmi të përbashkët për ndjekjen e nxënësve.",
    status: str = "open",
    due_on: Any = None,
    responsible: Any = (),
    **overrides: Any,
) -> Any:
    """Add a recommendation of `meeting`; `responsible` is [(institution, lead), ...]."""
    from app.models import Recommendation, RecommendationResponsible

    recommendation = Recommendation(
        meeting_id=meeting.id,
        body_id=meeting.body_id,
        region_id=meeting.region_id,
        key=overrides.pop("key", f"r{new_token()[-8:]}"),
        text=text,
        text_folded=fold(text),
        status=status,
        due_on=due_on,
        **overrides,
    )
    session.add(recommendation)
    session.flush()
    for position, (institution, lead) in enumerate(responsible):
        session.add(
            RecommendationResponsible(
                recommendation_id=recommendation.id or 0,
                institution_id=institution.id,
                lead=lead,
                position=position,
            )
        )
    session.flush()
    return recommendation


def make_plan_activity(
    session: Session, *, region: str = "AL-02", code: str = "1.2", **overrides: Any
) -> Any:
    """Add an action plan of `region` with one objective and one activity `code`."""
    from datetime import date

    from app.models import ActionPlan, Activity, Objective

    plan = ActionPlan(
        region_id=region_id(region),
        title=overrides.pop("title", f"Plani i Veprimit Antitrafik {region}"),
        period_start=overrides.pop("period_start", date(2018, 1, 1)),
        period_end=overrides.pop("period_end", date(2019, 12, 31)),
    )
    session.add(plan)
    session.flush()
    objective = Objective(action_plan_id=plan.id or 0, code="1", pillar="prevention", title="O1")
    session.add(objective)
    session.flush()
    activity = Activity(
        action_plan_id=plan.id or 0,
        objective_id=objective.id or 0,
        code=code,
        title=overrides.pop("activity_title", "Takime informuese me prindërit"),
        **overrides,
    )
    session.add(activity)
    session.flush()
    return activity


# --- action plans (appended for the action-plan and progress tests) ----------------------------


SHKODER_INSTITUTIONS = [
    # (name, abbreviation, kind)
    ("Drejtoria Rajonale e Shërbimit Social Shtetëror Shkodër", "DRSHSSH", "social_service"),
    ("Zyra Vendore e Arsimit Parauniversitar Shkodër", "ZVAP", "education"),
    ("Drejtoria Vendore e Policisë Shkodër", "DVP", "police"),
    ("Bashkia Shkodër", None, "municipality"),
]


def make_plan_institutions(session: Session, region: str = "AL-10") -> dict[str, Institution]:
    """Add the Shkodër-style institutions a plan refers to; keyed by abbreviation or name."""
    made = {}
    for name, abbreviation, kind in SHKODER_INSTITUTIONS:
        if region != "AL-10":
            name = name.replace("Shkodër", region)
        institution = make_institution(
            session, name=name, abbreviation=abbreviation, kind=kind, region=region
        )
        made[abbreviation or name.split()[0]] = institution
    return made


def plan_document(**overrides: Any) -> dict[str, Any]:
    """Return a valid two-year plan document for Shkodër (AL-10), 2018–2019, four activities.

    Objective 1 (prevention): 1.1 target 400 by 2018-12-31 (DRSHSSH leads, ZVAP), 1.2 target 10
    by 2019-06-30 (ZVAP leads). Objective 2 (protection): 2.1 target 50 by 2018-06-30 (DVP
    leads, DRSHSSH), 2.2 no target, by 2018-09-30 (Bashkia Shkodër leads).
    """
    document: dict[str, Any] = {
        "region": "AL-10",
        "title": "Plani 2-vjeçar i Veprimit Antitrafik, Qarku Shkodër 2018–2019",
        "period_start": "2018-01-01",
        "period_end": "2019-12-31",
        "national_reference": "Strategjia Kombëtare dhe Plani i Veprimit 2014–2017",
        "objectives": [
            {
                "code": "1",
                "pillar": "prevention",
                "title": "Ndërgjegjësimi i komuniteteve vulnerabël",
                "activities": [
                    {
                        "code": "1.1",
                        "title": "Takime informuese me prindërit në komunitetet vulnerabël",
                        "responsible": [
                            {"institution": "DRSHSSH", "lead": True},
                            {"institution": "ZVAP"},
                        ],
                        "indicator": "Numri i prindërve të informuar",
                        "target": 400,
                        "unit": "prindër",
                        "deadline": "2018-12-31",
                        "budget": {"amount": 250000, "currency": "ALL"},
                        "funding_source": "Buxheti i Prefekturës",
                    },
                    {
                        "code": "1.2",
                        "title": "Seanca ndërgjegjësimi në shkollat e mesme",
                        "responsible": [{"institution": "ZVAP", "lead": True}],
                        "indicator": "Numri i shkollave",
                        "target": 10,
                        "unit": "shkolla",
                        "deadline": "2019-06-30",
                    },
                ],
            },
            {
                "code": "2",
                "pillar": "protection",
                "title": "Identifikimi dhe referimi i viktimave të mundshme",
                "activities": [
                    {
                        "code": "2.1",
                        "title": "Trajnimi i punonjësve të policisë për identifikimin",
                        "responsible": [
                            {"institution": "DVP", "lead": True},
                            {"institution": "DRSHSSH"},
                        ],
                        "target": 50,
                        "unit": "punonjës",
                        "deadline": "2018-06-30",
                        "budget": {"amount": 1200.5, "currency": "EUR"},
                    },
                    {
                        "code": "2.2",
                        "title": "Ngritja e grupit vendor të referimit",
                        "responsible": [{"institution": "Bashkia Shkodër", "lead": True}],
                        "deadline": "2018-09-30",
                    },
                ],
            },
        ],
    }
    document.update(overrides)
    return document


# --- minutes documents (appended for the meetings tests) ---------------------------------------


def make_durres_table(session: Session) -> dict[str, Institution]:
    """Add Durrës's KRAT and Technical Table and the institutions the example minutes name."""
    committee = make_body(
        session, kind="committee", name="Komiteti Rajonal Antitrafik Durrës", region="AL-02"
    )
    make_body(session, name="Tryeza Teknike Durrës", parent_id=committee.id)
    specs = {
        "prefecture": ("Prefektura e Qarkut Durrës", None, "prefecture"),
        "municipality": ("Bashkia Durrës", None, "municipality"),
        "zvap": ("Zyra Vendore e Arsimit Parauniversitar Durrës", "ZVAP", "education"),
        "drshssh": (
            "Drejtoria Rajonale e Shërbimit Social Shtetëror Durrës",
            "DRSHSSH",
            "social_service",
        ),
        "police": ("Drejtoria Vendore e Policisë Durrës", "DVP", "police"),
    }
    found = {
        key: make_institution(session, name=name, abbreviation=abbreviation, kind=kind)
        for key, (name, abbreviation, kind) in specs.items()
    }
    found["iom"] = make_institution(
        session,
        name="Organizata Ndërkombëtare për Migracionin",
        abbreviation="IOM",
        kind="international",
        region=None,
    )
    return found


def minutes_document(**overrides: Any) -> dict[str, Any]:
    """Return the contract's example minutes (Durrës's Technical Table), with overrides."""
    document: dict[str, Any] = {
        "external_ref": "DR-TT-2017-10-27",
        "body": {"region": "AL-02", "kind": "technical_table"},
        "held_on": "2017-10-27",
        "kind": "regular",
        "title": "Takim me Tryezën Teknike KRAT",
        "location": "Prefektura Durrës",
        "chair": {
            "name": "Roland Nasto",
            "position": "Prefekt",
            "institution": "Prefektura e Qarkut Durrës",
        },
        "summary": "Në kuadër të muajit të ndërgjegjësimit …",
        "agenda": ["Prezantimi i veprimtarisë së anëtarëve", "Problematikat e konstatuara"],
        "new_institutions": [
            {"name": "World Vision Shqipëri", "abbreviation": "WV", "kind": "ngo"}
        ],
        "attendees": [
            {
                "institution": "Bashkia Durres",
                "representatives": [{"name": "Përfaqësues i Bashkisë", "position": "Specialist"}],
            },
            {"institution": "World Vision Shqipëri"},
            {"institution": "zvap"},
        ],
        "problems": [
            {
                "key": "p1",
                "raised_by": "ZVAP",
                "theme": "school_dropout",
                "title": "Monitorimi i nxënësve që largohen nga shkolla",
                "description": "Mungojnë strukturat për monitorimin dhe ndjekjen institucionale.",
            }
        ],
        "recommendations": [
            {
                "key": "r1",
                "problem": "p1",
                "text": "Ngritja e një mekanizmi të përbashkët ZVAP–DRSHSSH për ndjekjen e "
                "nxënësve që braktisin shkollën.",
                "responsible": [{"institution": "DRSHSSH"}, {"institution": "ZVAP", "lead": True}],
                "due_on": "2018-03-31",
            },
            {
                "key": "r2",
                "text": "Vënia në funksion e Qendrës së Emergjencës për viktimat e trafikimit.",
                "responsible": [{"institution": "WV", "lead": True}, {"institution": "DVP"}],
                "due_on": "2018-06-30",
            },
        ],
    }
    document.update(overrides)
    return document


def post_minutes(session: Session, document: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """Store minutes through the ingestion service, as an admin; return the meeting."""
    from app.auth import Actor
    from app.meetings import ingest
    from app.meetings.schemas import MinutesDocument

    data = MinutesDocument.model_validate(document or minutes_document(**overrides))
    return ingest.submit(session, data, actor=Actor("factory", Role.admin)).meeting


# --- numbered minutes (appended for the concurrency, crash and scale-out tests) ----------------


def numbered_minutes(number: int, *, problems: int = 3, recommendations: int = 4) -> dict[str, Any]:
    """Return distinct minutes of Durrës's Technical Table, numbered `number`.

    Each declares its own new institution (named with the number), attended by it and two
    members; recommendation i answers problem i mod `problems` and has two responsible
    institutions. Needs make_durres_table's rows.
    """
    newcomer = f"Qendra Komunitare Nr. {number} Durrës"
    return minutes_document(
        external_ref=f"DR-TT-N{number:05d}",
        held_on=f"2018-{1 + number % 12:02d}-{1 + number % 28:02d}",
        title=f"Mbledhja nr. {number} e Tryezës Teknike",
        new_institutions=[{"name": newcomer, "kind": "ngo"}],
        attendees=[
            {"institution": "Bashkia Durres"},
            {"institution": newcomer, "representatives": [{"name": "Drejtuesi i qendrës"}]},
            {"institution": "zvap"},
        ],
        problems=[
            {
                "key": f"p{i}",
                "raised_by": "ZVAP",
                "theme": "school_dropout",
                "title": f"Problemi {i} i mbledhjes {number}",
            }
            for i in range(problems)
        ],
        recommendations=[
            {
                "key": f"r{i}",
                "problem": f"p{i % problems}" if problems else None,
                "text": f"Rekomandimi {i} i mbledhjes {number}: ndjekja e rasteve.",
                "responsible": [
                    {"institution": "DRSHSSH", "lead": True},
                    {"institution": newcomer},
                ],
                "due_on": "2018-12-31",
            }
            for i in range(recommendations)
        ],
    )
