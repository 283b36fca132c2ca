"""The shape of a plan's progress report (`GET /action-plans/{id}/progress`)."""

from datetime import date

from pydantic import BaseModel, Field

from app.models import ActivityStatus, Pillar, RecommendationStatus


class ProgressPlan(BaseModel):
    """The plan the report is about."""

    id: int = Field(examples=[3])
    region: str = Field(examples=["AL-10"])
    title: str
    period_start: date
    period_end: date


class Tally(BaseModel):
    """Counts and the mean percent of a group of activities as of the report date."""

    activities: int = Field(description="Activities in the group, cancelled ones included.")
    not_started: int
    in_progress: int
    completed: int
    cancelled: int
    delayed: int = Field(description="Activities whose deadline is before as_of, not completed.")
    percent: float = Field(
        description="Mean of the (rounded) percents of the group's activities that are not "
        "cancelled, rounded half up to 2 decimals; 0 when there are none.",
        examples=[43.75],
    )


class OverallProgress(Tally):
    """The whole plan."""

    elapsed_percent: float = Field(
        description="(as_of − period_start) ÷ (period_end − period_start + 1 day) × 100, "
        "in days, capped to 0–100, rounded half up to 2 decimals.",
        examples=[50.0],
    )


class PillarProgress(Tally):
    """The activities of one pillar's objectives (all four pillars are always listed)."""

    pillar: Pillar


class ObjectiveProgress(Tally):
    """The activities of one objective."""

    id: int
    code: str = Field(examples=["1"])
    title: str
    pillar: Pillar


class InstitutionRef(BaseModel):
    """An institution as the report names it."""

    id: int = Field(examples=[5])
    name: str


class InstitutionProgress(Tally):
    """The activities an institution is responsible for (led or not)."""

    institution: InstitutionRef
    lead_activities: int = Field(description="Of `activities`, those the institution leads.")


class ResponsibleProgress(BaseModel):
    institution: InstitutionRef
    lead: bool


class RecommendationProgress(BaseModel):
    """A linked recommendation: its current status, and whether it was overdue on as_of."""

    id: int = Field(examples=[41])
    status: RecommendationStatus
    overdue: bool


class ActivityProgress(BaseModel):
    """One activity as of the report date."""

    id: int = Field(examples=[31])
    code: str = Field(examples=["1.1"])
    objective: str = Field(description="The objective's code.", examples=["1"])
    pillar: Pillar
    title: str
    status: ActivityStatus
    delayed: bool
    deadline: date | None
    target: int | float | None = Field(examples=[400])
    unit: str | None = Field(examples=["prindër"])
    progress_value: int | float | None = Field(examples=[300])
    percent: float = Field(examples=[75.0])
    last_follow_up_on: date | None
    responsible: list[ResponsibleProgress]
    recommendations: list[RecommendationProgress]


class ProgressRead(BaseModel):
    """A plan's progress as of a date."""

    plan: ProgressPlan
    as_of: date
    overall: OverallProgress
    by_pillar: list[PillarProgress]
    by_objective: list[ObjectiveProgress]
    by_institution: list[InstitutionProgress]
    activities: list[ActivityProgress]
