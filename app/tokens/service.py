"""API tokens: creating (the token is returned once), listing and revoking."""

from sqlmodel import Session, select

from app import audit
from app.auth import Actor, hash_token, new_token, token_cache
from app.errors import Conflict, NotFound, ProblemCollector
from app.models import ApiToken, Institution, Role, utcnow
from app.regions import service as regions
from app.tokens.schemas import TokenCreate, TokenRead


def to_read(token: ApiToken) -> TokenRead:
    """Return the wire form of a token record."""
    return TokenRead(
        id=token.id or 0,
        name=token.name,
        role=Role(token.role),
        region=regions.region_code(token.region_id),
        institution=token.institution_id,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
    )


def _check_binding(session: Session, data: TokenCreate) -> None:
    problems = ProblemCollector()
    if data.role == Role.secretariat and data.region is None:
        problems.add("/region", "a secretariat token must be bound to a region")
    if data.role != Role.secretariat and data.region is not None:
        problems.add("/region", "only a secretariat token is bound to a region")
    if data.role == Role.institution and data.institution is None:
        problems.add("/institution", "an institution token must be bound to an institution")
    if data.role != Role.institution and data.institution is not None:
        problems.add("/institution", "only an institution token is bound to an institution")
    if data.institution is not None and session.get(Institution, data.institution) is None:
        problems.add("/institution", f"there is no institution {data.institution}")
    problems.raise_if_any(title="Invalid token")


def create(session: Session, data: TokenCreate, *, actor: Actor | str) -> tuple[ApiToken, str]:
    """Create a token and return its record and the token itself (shown once)."""
    _check_binding(session, data)
    if session.exec(select(ApiToken.id).where(ApiToken.name == data.name)).first() is not None:
        raise Conflict(f"a token named {data.name} already exists")
    token = new_token()
    record = ApiToken(
        name=data.name,
        role=data.role,
        region_id=regions.region_id(data.region) if data.region else None,
        institution_id=data.institution,
        token_hash=hash_token(token),
    )
    session.add(record)
    session.flush()
    after = audit.snapshot(record)
    del after["token_hash"]
    audit.record(
        session, actor=actor, action="create", entity="api_token", entity_id=record.id, after=after
    )
    return record, token


def get_by_name(session: Session, name: str) -> ApiToken:
    """Return the token record named `name`, or raise NotFound."""
    record = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if record is None:
        raise NotFound(f"there is no token named {name}")
    return record


def revoke(session: Session, record: ApiToken, *, actor: Actor | str) -> ApiToken:
    """Revoke a token: it stops working within a few seconds in every server process."""
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        audit.record(
            session,
            actor=actor,
            action="revoke",
            entity="api_token",
            entity_id=record.id,
            after={"revoked_at": record.revoked_at.isoformat()},
        )
        token_cache.clear()
    return record
