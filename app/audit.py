"""The audit log: one function every write calls, inside the write's own transaction."""

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, SQLModel

from app.auth import Actor
from app.models import AuditEvent

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
