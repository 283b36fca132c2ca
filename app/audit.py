"""The audit log: one function every write calls, inside the write's own transaction."""

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from app.auth import Actor
from app.models import AuditEvent, DataRevision

_WROTE = "krat_wrote"

# Set by the request middleware; the CLI leaves it unset.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def snapshot(entity: SQLModel) -> dict[str, Any]:
    """Return an entity's stored columns as JSON-safe values (folded copies left out)."""
    data: dict[str, Any] = {}
    for name, value in entity.model_dump().items():
        if name.endswith("_folded"):
            continue
        if isinstance(value, date | datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        data[name] = value
    return data


def record(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit event for a write; it commits or rolls back with the write."""
    session.info[_WROTE] = True
    session.add(
        AuditEvent(
            actor=actor if isinstance(actor, str) else actor.name,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            request_id=request_id_var.get(),
        )
    )


def bump_revision(session: OrmSession) -> None:
    """Count one more committed write (for list ETags and cached totals)."""
    session.execute(update(DataRevision).values(value=DataRevision.value + 1))


@event.listens_for(OrmSession, "after_flush")
def _note_flushed_writes(session: OrmSession, _context: object) -> None:
    # Audit.record marks a write already; this also catches ORM changes made without it, so
    # no write can leave lists serving a stale ETag or total.
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


@event.listens_for(OrmSession, "before_commit")
def _bump_revision_of_writes(session: OrmSession) -> None:
    # Last statement before COMMIT: the counter's row lock is held for an instant only, and
    # the new revision becomes visible together with the data it counts.
    if session.info.pop(_WROTE, False):
        bump_revision(session)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back_writes(session: OrmSession) -> None:
    session.info.pop(_WROTE, None)
