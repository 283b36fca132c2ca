"""Checking the meaning of a minutes document, collecting every problem with its JSON Pointer.

Pydantic (MinutesDocument) has checked its shape; here come the body, the dates, the keys, the
institution references and the activity links. Nothing is written.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.bodies import service as bodies
from app.errors import ProblemCollector, pointer
from app.institutions import service as institutions
from app.institutions.schemas import InstitutionCreate
from app.meetings.schemas import BodySelector, MinutesDocument, RecommendationIn
from app.models import ActionPlan, Activity, Body, Institution
from app.regions import service as regions
from app.text import fold

INVALID_TITLE = "Invalid minutes"


@dataclass
class ResolvedRecommendation:
    """What a recommendation's references resolved to: responsible (lead first), activity."""

    responsible: list[tuple[Institution, bool]]
    activity_id: int | None


@dataclass
class Resolved:
    """A checked document's references, aligned with its lists."""

    new_institutions: list[Institution] = field(default_factory=list)
    chair: Institution | None = None
    attendees: list[tuple[Institution, list[dict[str, Any]]]] = field(default_factory=list)
    raised_by: list[Institution | None] = field(default_factory=list)
    recommendations: list[ResolvedRecommendation] = field(default_factory=list)


def find_body(
    session: Session, selector: BodySelector, problems: ProblemCollector
) -> tuple[Body | None, int | None]:
    """Return the body a document names and its region id; record a problem if there is none."""
    if selector.id is not None:
        body = session.get(Body, selector.id)
        if body is None:
            problems.add("/body", f"there is no body {selector.id}")
            return None, None
        return body, body.region_id
    assert selector.region is not None and selector.kind is not None
    region_id = regions.region_id(selector.region)
    body = bodies.find(session, region_id, selector.kind)
    if body is None:
        problems.add("/body", f"{selector.region} has no body of kind {selector.kind}")
    return body, region_id


def check(
    session: Session,
    document: MinutesDocument,
    *,
    region_id: int | None,
    problems: ProblemCollector,
    amending: bool = False,
) -> Resolved:
    """Check a document's meaning, recording every problem; `region_id` None skips references.

    When `amending`, a new institution whose name the region already has refers to that one:
    amended minutes repeat the declarations their first post already stored.
    """
    if document.held_on > clock.today():
        problems.add("/held_on", "date is in the future")
    resolved = Resolved()
    resolver = (
        institutions.Resolver.for_region(session, region_id, problems)
        if region_id is not None
        else None
    )
    if resolver is not None:
        _declare_institutions(document, resolver, region_id, resolved, amending=amending)
        if document.chair is not None and document.chair.institution is not None:
            resolved.chair = resolver.resolve(
                document.chair.institution, pointer("chair", "institution")
            )
        _check_attendees(document, resolver, resolved)
    problem_keys = _unique_keys("problems", [p.key for p in document.problems], problems)
    for index, problem in enumerate(document.problems):
        raised_by = None
        if resolver is not None and problem.raised_by is not None:
            raised_by = resolver.resolve(problem.raised_by, pointer("problems", index, "raised_by"))
        resolved.raised_by.append(raised_by)
    _unique_keys("recommendations", [r.key for r in document.recommendations], problems)
    activities = _activities(session, document, region_id, problems)
    for index, item in enumerate(document.recommendations):
        if item.problem is not None and item.problem not in problem_keys:
            problems.add(
                pointer("recommendations", index, "problem"),
                f"no problem of this document has the key '{item.problem}'",
            )
        if item.due_on is not None and item.due_on < document.held_on:
            problems.add(
                pointer("recommendations", index, "due_on"), "due date is before the meeting"
            )
        responsible = _check_responsible(item, index, resolver, problems)
        resolved.recommendations.append(ResolvedRecommendation(responsible, activities[index]))
    return resolved


def _declare_institutions(
    document: MinutesDocument,
    resolver: institutions.Resolver,
    region_id: int | None,
    resolved: Resolved,
    *,
    amending: bool,
) -> None:
    declared: dict[str, int] = {}
    for index, item in enumerate(document.new_institutions):
        where = pointer("new_institutions", index, "name")
        key = fold(item.name)
        if key in declared:
            resolver.problems.add(
                where, f"the same name is already declared at /new_institutions/{declared[key]}"
            )
            continue
        declared[key] = index
        existing = [i for i in resolver.candidates if i.name_folded == key]
        if amending and any(i.region_id == region_id for i in existing):
            continue
        if existing:
            scope = regions.region_code(existing[0].region_id) or "the national institutions"
            resolver.problems.add(
                where,
                f"an institution of this name already exists in {scope} "
                f"(id {existing[0].id}); refer to it instead of declaring it",
            )
            continue
        institution = institutions.build(
            InstitutionCreate(
                name=item.name,
                abbreviation=item.abbreviation,
                kind=item.kind,
                level=item.level,
                region=regions.region_code(region_id),
            )
        )
        resolver.add_pending(institution)
        resolved.new_institutions.append(institution)


def _check_attendees(
    document: MinutesDocument, resolver: institutions.Resolver, resolved: Resolved
) -> None:
    seen: dict[int, int] = {}
    for index, attendee in enumerate(document.attendees):
        where = pointer("attendees", index, "institution")
        institution = resolver.resolve(attendee.institution, where)
        if institution is None:
            continue
        # Identity, not id: a declared institution has no id until it is stored.
        if id(institution) in seen:
            resolver.problems.add(
                where,
                f"the same institution is already listed at /attendees/{seen[id(institution)]}",
            )
            continue
        seen[id(institution)] = index
        people = [p.model_dump(exclude_none=True) for p in attendee.representatives]
        resolved.attendees.append((institution, people))


def _unique_keys(list_name: str, keys: list[str], problems: ProblemCollector) -> dict[str, int]:
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            problems.add(
                pointer(list_name, index, "key"),
                f"the key '{key}' is already used by /{list_name}/{first[key]}",
            )
        else:
            first[key] = index
    return first


def _check_responsible(
    item: RecommendationIn,
    index: int,
    resolver: institutions.Resolver | None,
    problems: ProblemCollector,
) -> list[tuple[Institution, bool]]:
    leads = [j for j, r in enumerate(item.responsible) if r.lead]
    for j in leads[1:]:
        problems.add(
            pointer("recommendations", index, "responsible", j, "lead"),
            f"only one responsible institution may lead; "
            f"/recommendations/{index}/responsible/{leads[0]} already does",
        )
    if resolver is None:
        return []
    seen: dict[int, int] = {}
    found: list[tuple[Institution, bool]] = []
    for j, responsible in enumerate(item.responsible):
        where = pointer("recommendations", index, "responsible", j, "institution")
        institution = resolver.resolve(responsible.institution, where)
        if institution is None:
            continue
        if id(institution) in seen:
            problems.add(
                where,
                "the same institution is already listed at "
                f"/recommendations/{index}/responsible/{seen[id(institution)]}",
            )
            continue
        seen[id(institution)] = j
        found.append((institution, responsible.lead))
    # The lead comes first; the others keep the document's order.
    return sorted(found, key=lambda pair: not pair[1])


def _activities(
    session: Session, document: MinutesDocument, region_id: int | None, problems: ProblemCollector
) -> list[int | None]:
    """Return the activity id each recommendation links to (None when absent or unknown)."""
    links = [r.activity for r in document.recommendations]
    plan_ids = {link.plan for link in links if link is not None}
    if not plan_ids:
        return [None] * len(links)
    plans = dict(
        session.exec(
            select(ActionPlan.id, ActionPlan.region_id).where(col(ActionPlan.id).in_(plan_ids))
        ).all()
    )
    codes = {link.code for link in links if link is not None}
    activities = {
        (plan_id, code): activity_id
        for activity_id, plan_id, code in session.exec(
            select(Activity.id, Activity.action_plan_id, Activity.code).where(
                col(Activity.action_plan_id).in_(plan_ids), col(Activity.code).in_(codes)
            )
        ).all()
    }
    result: list[int | None] = []
    for index, link in enumerate(links):
        where = pointer("recommendations", index, "activity")
        activity_id = None
        if link is None:
            pass
        elif link.plan not in plans:
            problems.add(where, f"there is no action plan {link.plan}")
        elif region_id is not None and plans[link.plan] != region_id:
            problems.add(
                where,
                f"action plan {link.plan} belongs to {regions.region_code(plans[link.plan])}, "
                f"not to {regions.region_code(region_id)}",
            )
        elif (link.plan, link.code) not in activities:
            problems.add(where, f"action plan {link.plan} has no activity '{link.code}'")
        else:
            activity_id = activities[(link.plan, link.code)]
        result.append(activity_id)
    return result
