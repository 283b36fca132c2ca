"""The recommendation status workflow: which changes are allowed, and recording one.

open → in_progress → implemented | partially_implemented | not_implemented; any active status
→ withdrawn; a closed one may be reopened to in_progress. Every change but open → in_progress
needs a note, because the history is what a later reader relies on to know why.
"""

from sqlmodel import Session

from app import audit
from app.auth import Actor
from app.errors import Conflict, Invalid
from app.models import Recommendation, RecommendationStatus, RecommendationStatusChange, utcnow

S = RecommendationStatus
CLOSED = (S.implemented, S.partially_implemented, S.not_implemented)

ALLOWED: dict[str, tuple[str, ...]] = {
    S.open: (S.in_progress, S.withdrawn),
    S.in_progress: (*CLOSED, S.withdrawn),
    S.implemented: (S.in_progress,),
    S.partially_implemented: (S.in_progress,),
    S.not_implemented: (S.in_progress,),
    S.withdrawn: (),
}


def note_required(from_status: str, to_status: str) -> bool:
    """Tell whether a change needs a note (all but open → in_progress)."""
    return not (from_status == S.open and to_status == S.in_progress)


def check_transition(
    from_status: str, to_status: str, note: str | None, *, note_pointer: str = "/note"
) -> None:
    """Raise 409 for a change the workflow forbids, 422 for a missing note."""
    allowed = ALLOWED[from_status]
    if to_status not in allowed:
        shown = ", ".join(allowed) or "none: it is final"
        raise Conflict(
            f"a recommendation cannot go from {from_status} to {to_status}; "
            f"allowed from {from_status}: {shown}",
            current_status=from_status,
            allowed=list(allowed),
        )
    if note_required(from_status, to_status) and not (note and note.strip()):
        raise Invalid(
            [{"pointer": note_pointer, "detail": f"a note is required to go to {to_status}"}],
            title="Note required",
        )


def add_history(
    session: Session,
    recommendation: Recommendation,
    to_status: str,
    *,
    actor: Actor | str,
    note: str | None,
) -> RecommendationStatusChange:
    """Set a recommendation's status and add its history entry (no checks, version or audit).

    For a write that changes other fields too and bumps the version and audits once itself.
    """
    change = RecommendationStatusChange(
        recommendation_id=recommendation.id or 0,
        from_status=recommendation.status,
        to_status=to_status,
        note=note,
        actor=actor if isinstance(actor, str) else actor.name,
    )
    recommendation.status = to_status
    session.add(change)
    return change


def record_change(
    session: Session,
    recommendation: Recommendation,
    to_status: str,
    *,
    actor: Actor | str,
    note: str | None,
) -> RecommendationStatusChange:
    """Set a recommendation's status and add the history entry and audit event (no checks)."""
    before = audit.snapshot(recommendation)
    change = add_history(session, recommendation, to_status, actor=actor, note=note)
    recommendation.version += 1
    recommendation.updated_at = utcnow()
    session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="status_change",
        entity="recommendation",
        entity_id=recommendation.id,
        before=before,
        after=audit.snapshot(recommendation),
    )
    return change
