"""Every table and every stored vocabulary of krat-tracker, and nothing else.

Vocabularies are stored as their English value (short strings); Albanian labels live in
`app.vocabulary`. Columns ending in ``_folded`` hold `app.text.fold()` of a name or text so that
lookups are case- and diacritic-insensitive and can use an index.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Numeric,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

import app.db  # noqa: F401  (sets the naming convention before any table is declared)


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _timestamp(*, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False, index=index
    )


# --- vocabularies ------------------------------------------------------------------------------


class InstitutionKind(StrEnum):
    prefecture = "prefecture"
    municipality = "municipality"
    police = "police"
    border_migration = "border_migration"
    social_service = "social_service"
    health = "health"
    education = "education"
    employment = "employment"
    vocational_training = "vocational_training"
    labour_inspectorate = "labour_inspectorate"
    intelligence = "intelligence"
    prosecution = "prosecution"
    central_government = "central_government"
    ngo = "ngo"
    international = "international"
    other = "other"


class InstitutionLevel(StrEnum):
    local = "local"
    regional = "regional"
    national = "national"
    international = "international"


class BodyKind(StrEnum):
    committee = "committee"
    technical_table = "technical_table"


class MemberRole(StrEnum):
    chair = "chair"
    secretariat = "secretariat"
    member = "member"
    observer = "observer"


class MeetingKind(StrEnum):
    regular = "regular"
    extraordinary = "extraordinary"
    workshop = "workshop"
    training = "training"
    awareness = "awareness"
    conference = "conference"


class ProblemTheme(StrEnum):
    coordination = "coordination"
    identification_referral = "identification_referral"
    victim_assistance = "victim_assistance"
    reintegration = "reintegration"
    child_protection = "child_protection"
    school_dropout = "school_dropout"
    labour_exploitation = "labour_exploitation"
    online_safety = "online_safety"
    awareness = "awareness"
    data_sharing = "data_sharing"
    capacity_building = "capacity_building"
    funding = "funding"
    legal_framework = "legal_framework"
    other = "other"


class RecommendationStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    implemented = "implemented"
    partially_implemented = "partially_implemented"
    not_implemented = "not_implemented"
    withdrawn = "withdrawn"


# A recommendation in one of these is still expected to be carried out; past due, it is overdue.
ACTIVE_RECOMMENDATION_STATUSES = (RecommendationStatus.open, RecommendationStatus.in_progress)


class Pillar(StrEnum):
    prevention = "prevention"
    protection = "protection"
    prosecution = "prosecution"
    partnership = "partnership"


class ActivityStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class PlanStatus(StrEnum):
    draft = "draft"
    adopted = "adopted"
    closed = "closed"


class Currency(StrEnum):
    ALL = "ALL"
    EUR = "EUR"


class Role(StrEnum):
    admin = "admin"
    secretariat = "secretariat"
    institution = "institution"
    reader = "reader"


# --- reference data ----------------------------------------------------------------------------


class Region(SQLModel, table=True):
    """One of Albania's 12 qarqe; id N is ISO code AL-0N, seeded by the first migration."""

    id: int = Field(primary_key=True)
    code: str = Field(max_length=5, unique=True)
    name: str = Field(max_length=40)
    name_folded: str = Field(max_length=40)


class Institution(SQLModel, table=True):
    """A member institution: regional when it has a region, else national or international."""

    __table_args__ = (
        Index("ix_institution_region_id_name_folded", "region_id", "name_folded"),
        # One name per scope: a region, or the national institutions (no region, as 0).
        Index(
            "uq_institution_scope_name_folded",
            text("coalesce(region_id, 0)"),
            "name_folded",
            unique=True,
        ),
        Index("ix_institution_abbreviation_folded", "abbreviation_folded"),
        Index("ix_institution_name_folded", "name_folded"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_folded: str = Field(max_length=200)
    abbreviation: str | None = Field(default=None, max_length=40)
    abbreviation_folded: str | None = Field(default=None, max_length=40)
    kind: str = Field(max_length=32)
    level: str = Field(max_length=16)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    active: bool = True
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Body(SQLModel, table=True):
    """A KRAT (committee) or its Technical Table; one of each kind per region."""

    __table_args__ = (UniqueConstraint("region_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    region_id: int = Field(foreign_key="region.id")
    name: str = Field(max_length=200)
    name_folded: str = Field(max_length=200)
    parent_id: int | None = Field(default=None, foreign_key="body.id")
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Membership(SQLModel, table=True):
    """An institution's seat in a body, with its role and term."""

    __table_args__ = (UniqueConstraint("body_id", "institution_id"),)

    id: int | None = Field(default=None, primary_key=True)
    body_id: int = Field(foreign_key="body.id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    role: str = Field(max_length=16)
    since: date | None = None
    until: date | None = None
    position: int = 0


# --- meetings ----------------------------------------------------------------------------------


class Meeting(SQLModel, table=True):
    """One meeting of a body, as its minutes document described it."""

    __table_args__ = (
        UniqueConstraint("body_id", "external_ref"),
        Index("ix_meeting_body_id_held_on", "body_id", "held_on", "id"),
        Index("ix_meeting_held_on", "held_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    body_id: int = Field(foreign_key="body.id")
    # Copied from the body (which never changes region) so region filters need no join.
    region_id: int = Field(foreign_key="region.id", index=True)
    external_ref: str = Field(max_length=100)
    held_on: date
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    title_folded: str = Field(default="", max_length=300)
    location: str | None = Field(default=None, max_length=200)
    chair_name: str | None = Field(default=None, max_length=200)
    chair_position: str | None = Field(default=None, max_length=200)
    chair_institution_id: int | None = Field(default=None, foreign_key="institution.id")
    summary: str | None = None
    agenda: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # sha256 of the canonical posted document: a re-post with the same hash is a retry.
    document_hash: str = Field(max_length=64)
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Attendance(SQLModel, table=True):
    """An institution present at a meeting, with the people who represented it."""

    __table_args__ = (UniqueConstraint("meeting_id", "institution_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    institution_id: int = Field(foreign_key="institution.id", index=True)
    representatives: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    position: int = 0


class Problem(SQLModel, table=True):
    """A problem raised at a meeting (`problematikat e konstatuara`)."""

    __table_args__ = (UniqueConstraint("meeting_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    key: str = Field(max_length=40)
    raised_by_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    theme: str = Field(max_length=32, index=True)
    title: str = Field(max_length=300)
    description: str | None = None
    # fold(title + description), for the case- and diacritic-insensitive `q` filter.
    text_folded: str = ""
    # Set when an amendment of the minutes removed the problem; the row is kept.
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Recommendation(SQLModel, table=True):
    """A recommendation made at a meeting, tracked until it is carried out or withdrawn."""

    __table_args__ = (
        UniqueConstraint("meeting_id", "key"),
        # The dashboard's list: by status, optionally region, ordered by due date then id.
        Index("ix_recommendation_status_due_on", "status", "due_on", "id"),
        Index("ix_recommendation_region_id_status_due_on", "region_id", "status", "due_on", "id"),
        Index("ix_recommendation_body_id_status", "body_id", "status", "id"),
        Index("ix_recommendation_created_at", "created_at", "id"),
        Index("ix_recommendation_due_on", "due_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    # Copied from the meeting (whose body and region never change) so that the hot list
    # query filters and sorts on one table's indexes.
    body_id: int = Field(foreign_key="body.id")
    region_id: int = Field(foreign_key="region.id")
    key: str = Field(max_length=40)
    problem_id: int | None = Field(default=None, foreign_key="problem.id", index=True)
    text: str
    text_folded: str
    status: str = Field(default=RecommendationStatus.open, max_length=32)
    due_on: date | None = None
    activity_id: int | None = Field(default=None, foreign_key="activity.id", index=True)
    # Set when an amendment removed the recommendation from the minutes (its status is then
    # withdrawn); tells that apart from a withdrawal through the status workflow, so that only
    # a removed key coming back is restored.
    removed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class RecommendationResponsible(SQLModel, table=True):
    """An institution responsible for carrying out a recommendation (one may lead)."""

    __tablename__ = "recommendation_responsible"

    recommendation_id: int = Field(foreign_key="recommendation.id", primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", primary_key=True, index=True)
    lead: bool = False
    position: int = 0


class RecommendationStatusChange(SQLModel, table=True):
    """One entry of a recommendation's history: a status change, who made it, when, why."""

    __tablename__ = "recommendation_status_change"

    __table_args__ = (Index("ix_recommendation_status_change_rec", "recommendation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id")
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    note: str | None = None
    actor: str = Field(max_length=100)
    at: datetime = _timestamp()


# --- action plans ------------------------------------------------------------------------------


class ActionPlan(SQLModel, table=True):
    """A region's two-year anti-trafficking action plan."""

    __tablename__ = "action_plan"

    __table_args__ = (Index("ix_action_plan_region_id_period", "region_id", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id")
    title: str = Field(max_length=300)
    period_start: date
    period_end: date
    national_reference: str | None = Field(default=None, max_length=300)
    status: str = Field(default=PlanStatus.draft, max_length=16)
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Objective(SQLModel, table=True):
    """An objective of a plan, under one of the four pillars."""

    __table_args__ = (UniqueConstraint("action_plan_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    action_plan_id: int = Field(foreign_key="action_plan.id")
    code: str = Field(max_length=20)
    pillar: str = Field(max_length=16)
    title: str = Field(max_length=300)
    position: int = 0


class Activity(SQLModel, table=True):
    """An activity of a plan objective, with its indicator, target and deadline."""

    __table_args__ = (
        UniqueConstraint("action_plan_id", "code"),
        Index("ix_activity_objective_id", "objective_id", "position"),
        CheckConstraint("target IS NULL OR target >= 0", name="target_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_plan_id: int = Field(foreign_key="action_plan.id")
    objective_id: int = Field(foreign_key="objective.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    indicator: str | None = Field(default=None, max_length=300)
    target: float | None = None
    unit: str | None = Field(default=None, max_length=60)
    deadline: date | None = None
    budget_amount: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    budget_currency: str | None = Field(default=None, max_length=3)
    funding_source: str | None = Field(default=None, max_length=200)
    status: str = Field(default=ActivityStatus.not_started, max_length=16)
    position: int = 0
    version: int = 1
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class ActivityResponsible(SQLModel, table=True):
    """An institution responsible for an activity (one may lead)."""

    __tablename__ = "activity_responsible"

    activity_id: int = Field(foreign_key="activity.id", primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", primary_key=True, index=True)
    lead: bool = False
    position: int = 0


class FollowUp(SQLModel, table=True):
    """A follow-up action reported on an activity or on a recommendation (exactly one)."""

    __tablename__ = "follow_up"

    __table_args__ = (
        CheckConstraint(
            "(activity_id IS NULL) <> (recommendation_id IS NULL)", name="exactly_one_subject"
        ),
        Index("ix_follow_up_activity_id_reported_on", "activity_id", "reported_on", "id"),
        Index("ix_follow_up_recommendation_id", "recommendation_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int | None = Field(default=None, foreign_key="activity.id")
    recommendation_id: int | None = Field(default=None, foreign_key="recommendation.id")
    reported_on: date
    institution_id: int = Field(foreign_key="institution.id", index=True)
    description: str
    progress_value: float | None = None
    new_status: str | None = Field(default=None, max_length=32)
    actor: str = Field(max_length=100)
    created_at: datetime = _timestamp()


# --- access and accountability -----------------------------------------------------------------


class ApiToken(SQLModel, table=True):
    """A bearer token: only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=16)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AuditEvent(SQLModel, table=True):
    """One write: who did what to which entity, its state before and after, and when."""

    __tablename__ = "audit_event"

    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp(index=True)
    actor: str = Field(max_length=100, index=True)
    action: str = Field(max_length=32)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    request_id: str | None = Field(default=None, max_length=64)


class DataRevision(SQLModel, table=True):
    """One row counting committed writes: lists derive their ETags and cached totals from it.

    Bumped at commit by every transaction that records an audit event (see app.audit), so
    that reading it costs one primary-key lookup instead of scanning what changed.
    """

    __tablename__ = "data_revision"

    id: int = Field(default=1, primary_key=True)
    value: int = 0
