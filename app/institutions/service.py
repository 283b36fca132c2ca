"""Institutions: creating and changing them, and resolving the references documents make."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app import audit
from app.auth import Actor, require_region_write
from app.errors import Conflict, NotFound, ProblemCollector
from app.institutions.schemas import InstitutionCreate, InstitutionRead, InstitutionUpdate
from app.models import Institution, InstitutionKind, InstitutionLevel, utcnow
from app.regions import service as regions
from app.text import closest, fold, like_pattern


def derive_level(kind: str, region_id: int | None) -> InstitutionLevel:
    """Return the level an institution has when none was given."""
    if kind == InstitutionKind.international:
        return InstitutionLevel.international
    if region_id is None:
        return InstitutionLevel.national
    if kind == InstitutionKind.municipality:
        return InstitutionLevel.local
    return InstitutionLevel.regional


def to_read(institution: Institution) -> InstitutionRead:
    """Return the wire form of an institution."""
    return InstitutionRead(
        id=institution.id or 0,
        name=institution.name,
        abbreviation=institution.abbreviation,
        kind=InstitutionKind(institution.kind),
        level=InstitutionLevel(institution.level),
        region=regions.region_code(institution.region_id),
        active=institution.active,
        version=institution.version,
        created_at=institution.created_at,
        updated_at=institution.updated_at,
    )


def get(session: Session, institution_id: int, *, for_update: bool = False) -> Institution:
    """Return an institution by id (locked for the transaction if `for_update`), or NotFound."""
    institution = session.get(Institution, institution_id, with_for_update=for_update)
    if institution is None:
        raise NotFound(f"there is no institution {institution_id}")
    return institution


def _ensure_unique_name(
    session: Session, name_folded: str, region_id: int | None, *, exclude_id: int | None = None
) -> None:
    stmt = select(Institution.id).where(
        Institution.name_folded == name_folded,
        Institution.region_id == region_id
        if region_id is not None
        else Institution.region_id.is_(None),  # type: ignore[union-attr]
    )
    if exclude_id is not None:
        stmt = stmt.where(Institution.id != exclude_id)
    existing = session.exec(stmt).first()
    if existing is not None:
        scope = regions.region_code(region_id) or "the national institutions"
        raise Conflict(
            f"an institution with this name already exists in {scope}", existing_id=existing
        )


def build(data: InstitutionCreate) -> Institution:
    """Make (without adding) the institution a create document describes."""
    region_id = regions.region_id(data.region) if data.region else None
    return Institution(
        name=data.name,
        name_folded=fold(data.name),
        abbreviation=data.abbreviation,
        abbreviation_folded=fold(data.abbreviation) if data.abbreviation else None,
        kind=data.kind,
        level=data.level or derive_level(data.kind, region_id),
        region_id=region_id,
        active=data.active,
    )


def create(session: Session, data: InstitutionCreate, *, actor: Actor) -> Institution:
    """Create an institution; secretariats may create only institutions of their region."""
    institution = build(data)
    require_region_write(actor, institution.region_id)
    _ensure_unique_name(session, institution.name_folded, institution.region_id)
    session.add(institution)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="institution",
        entity_id=institution.id,
        after=audit.snapshot(institution),
    )
    return institution


def update(
    session: Session, institution: Institution, data: InstitutionUpdate, *, actor: Actor
) -> Institution:
    """Apply the given fields of `data` to an institution."""
    require_region_write(actor, institution.region_id)
    changes = data.model_dump(exclude_unset=True)
    # Only the abbreviation may be cleared; the other fields always have a value.
    problems = ProblemCollector()
    for key in ("name", "kind", "level", "active"):
        if key in changes and changes[key] is None:
            problems.add(f"/{key}", "must not be null")
    problems.raise_if_any(title="Invalid institution")
    before = audit.snapshot(institution)
    if "name" in changes:
        _ensure_unique_name(
            session, fold(changes["name"]), institution.region_id, exclude_id=institution.id
        )
        changes["name_folded"] = fold(changes["name"])
    if "abbreviation" in changes:
        abbreviation = changes["abbreviation"]
        changes["abbreviation_folded"] = fold(abbreviation) if abbreviation else None
    institution.sqlmodel_update(changes)
    institution.version += 1
    institution.updated_at = utcnow()
    session.add(institution)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="institution",
        entity_id=institution.id,
        before=before,
        after=audit.snapshot(institution),
    )
    return institution


def list_query(*, q: str | None, region: str | None, kind: str | None, active: bool | None) -> Any:
    """Return the filtered select of institutions (`region=national` means no region)."""
    stmt = select(Institution)
    if region == "national":
        stmt = stmt.where(Institution.region_id.is_(None))  # type: ignore[union-attr]
    elif region:
        stmt = stmt.where(Institution.region_id == regions.region_id(region))
    if kind:
        stmt = stmt.where(Institution.kind == kind)
    if active is not None:
        stmt = stmt.where(Institution.active == active)
    if q:
        # Escaped: a "_" or "%" the user typed is a character to find, not a wildcard.
        term = like_pattern(q)
        stmt = stmt.where(
            or_(
                Institution.name_folded.like(term, escape="\\"),  # type: ignore[attr-defined]
                Institution.abbreviation_folded.like(term, escape="\\"),  # type: ignore[union-attr]
            )
        )
    return stmt


# --- resolving references ----------------------------------------------------------------------


@dataclass
class Resolver:
    """Resolves institution references for one region's document, collecting every problem.

    Candidates are the region's institutions, the national and international ones, and any
    `pending` institutions the same document declares (resolved to their future objects).
    """

    region_id: int | None
    candidates: list[Institution]
    problems: ProblemCollector
    pending: list[Institution] = field(default_factory=list)

    @classmethod
    def for_region(
        cls, session: Session, region_id: int | None, problems: ProblemCollector
    ) -> "Resolver":
        """Load the institutions a document of `region_id` may refer to."""
        scope = Institution.region_id.is_(None)  # type: ignore[union-attr]
        if region_id is not None:
            scope = or_(scope, col(Institution.region_id) == region_id)
        candidates = list(
            session.exec(select(Institution).where(scope).order_by(col(Institution.id))).all()
        )
        return cls(region_id, candidates, problems)

    def add_pending(self, institution: Institution) -> None:
        """Make a not-yet-stored institution of the document resolvable by name."""
        self.pending.append(institution)

    def resolve(self, ref: int | str, where: str) -> Institution | None:
        """Return the institution `ref` names, or record a problem at `where` and return None."""
        if isinstance(ref, int):
            return self._by_id(ref, where)
        key = fold(ref)
        pool = self.pending + self.candidates
        by_name = [i for i in pool if i.name_folded == key]
        matches = by_name or [i for i in pool if i.abbreviation_folded == key]
        if len(matches) > 1:
            # The region's own branch wins over a national namesake ("DRSHSSH" in Durrës).
            regional = [i for i in matches if i.region_id is not None]
            matches = regional if len(regional) == 1 else matches
        if len(matches) == 1:
            return matches[0]
        scope = regions.region_code(self.region_id) or "the national institutions"
        if matches:
            names = "; ".join(_shown(i) for i in matches[:5])
            self.problems.add(
                where,
                f"institution reference is ambiguous in {scope}: "
                f"it matches {names}; use the id or the full name",
            )
            return None
        self.problems.add(where, self._unknown_message(ref, scope, pool))
        return None

    def _by_id(self, institution_id: int, where: str) -> Institution | None:
        for institution in self.candidates:
            if institution.id == institution_id:
                return institution
        scope = regions.region_code(self.region_id) or "the national institutions"
        self.problems.add(
            where, f"institution {institution_id} does not exist in {scope} or nationally"
        )
        return None

    def _unknown_message(self, ref: str, scope: str, pool: Iterable[Institution]) -> str:
        shown: dict[str, str] = {}
        for institution in pool:
            shown[institution.name_folded] = _shown(institution)
            if institution.abbreviation_folded:
                shown.setdefault(institution.abbreviation_folded, _shown(institution))
        suggestions = closest(ref, shown)
        # The reference itself is the client's own text: echoing it back helps the clerk.
        message = f"unknown institution '{ref}' in {scope}"
        if suggestions:
            message += "; did you mean " + " or ".join(suggestions) + "?"
        return message


def _shown(institution: Institution) -> str:
    if institution.abbreviation:
        return f"'{institution.name}' ({institution.abbreviation})"
    return f"'{institution.name}'"
