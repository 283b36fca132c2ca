"""What crosses the wire about action plans, their activities and the follow-ups on them."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.follow_ups.schemas import FollowUpBase
from app.institutions.schemas import InstitutionRef, InstitutionSummary
from app.models import ActivityStatus, Currency, Pillar, PlanStatus, RecommendationStatus
from app.regions.schemas import RegionCode
from app.schemas import Id, WriteModel

MAX_OBJECTIVES = 50
MAX_ACTIVITIES_PER_OBJECTIVE = 100
MAX_RESPONSIBLE = 20
MAX_ACTIVITY_EDITS = 500
MAX_TARGET = 1e12
MAX_AMOUNT = Decimal("99999999999999.99")  # the largest of 16 digits, 2 of them decimals

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[\w.\-]+$"),
    Field(
        description="Letters, digits, '.', '-' and '_'; unique within the plan.", examples=["1.2"]
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
FundingSource = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Target = Annotated[
    float,
    Field(ge=0, le=MAX_TARGET, description="The indicator's target value (≥ 0).", examples=[400]),
]


class Budget(BaseModel):
    """An activity's budget: an amount (two decimals at most) in leks or euros."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[
        Decimal,
        Field(ge=0, le=MAX_AMOUNT, max_digits=16, decimal_places=2, examples=[250000]),
    ]
    currency: Currency


class ResponsibleIn(WriteModel):
    """An institution responsible for an activity; at most one per activity leads."""

    institution: InstitutionRef
    lead: bool = False


class ActivityIn(WriteModel):
    """One activity of an objective."""

    code: Code
    title: Title
    responsible: list[ResponsibleIn] = Field(min_length=1, max_length=MAX_RESPONSIBLE)
    indicator: ShortText | None = None
    target: Target | None = None
    unit: Unit | None = None
    deadline: date | None = Field(
        default=None, description="Inside the plan period; an activity past it is delayed."
    )
    budget: Budget | None = None
    funding_source: FundingSource | None = None


class ObjectiveIn(WriteModel):
    """One objective of a plan, under one of the four pillars."""

    code: Code
    pillar: Pillar
    title: Title
    activities: list[ActivityIn] = Field(min_length=1, max_length=MAX_ACTIVITIES_PER_OBJECTIVE)


PLAN_EXAMPLE: dict[str, Any] = {
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
                }
            ],
        }
    ],
}


class PlanCreate(WriteModel):
    """A region's action plan: objectives by pillar, each with its activities.

    The period is `KRAT_PLAN_PERIOD_MONTHS` long (24 by default): `period_end` is `period_start`
    plus that many months, minus one day. Deadlines lie inside the period; objective and
    activity codes are unique within the plan; an activity has at most one lead institution.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PLAN_EXAMPLE]})

    region: RegionCode
    title: Title
    period_start: date
    period_end: date
    national_reference: ShortText | None = None
    status: PlanStatus = PlanStatus.draft
    objectives: list[ObjectiveIn] = Field(min_length=1, max_length=MAX_OBJECTIVES)


class ActivityEdit(WriteModel):
    """Changes to one activity of the plan; absent fields stay as they are.

    `responsible`, when given, replaces the whole list. An activity's status is not edited
    here: it moves only through follow-ups, so that it can be reproduced as of any date.
    """

    id: Id
    title: Title | None = None
    indicator: ShortText | None = None
    target: Target | None = None
    unit: Unit | None = None
    deadline: date | None = None
    budget: Budget | None = None
    funding_source: FundingSource | None = None
    responsible: list[ResponsibleIn] | None = Field(
        default=None, min_length=1, max_length=MAX_RESPONSIBLE
    )


class PlanUpdate(WriteModel):
    """Changes to a plan; absent fields stay as they are. Activities keep their follow-ups."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "adopted",
                    "activities": [{"id": 31, "target": 450, "deadline": "2019-06-30"}],
                }
            ]
        },
    )

    title: Title | None = None
    status: PlanStatus | None = None
    national_reference: ShortText | None = None
    activities: list[ActivityEdit] | None = Field(default=None, max_length=MAX_ACTIVITY_EDITS)


# --- reading -----------------------------------------------------------------------------------


class LinkedRecommendation(BaseModel):
    """A recommendation linked to an activity; `overdue` as of today (or the report's as_of)."""

    id: int = Field(examples=[41])
    status: RecommendationStatus
    overdue: bool


class ResponsibleRead(BaseModel):
    """An institution responsible for an activity."""

    institution: InstitutionSummary
    lead: bool


class BudgetRead(BaseModel):
    """An activity's budget."""

    amount: int | float = Field(examples=[250000])
    currency: Currency


class ActivityRead(BaseModel):
    """An activity with its current status and the recommendations linked to it."""

    id: int = Field(examples=[31])
    code: str = Field(examples=["1.1"])
    title: str
    responsible: list[ResponsibleRead]
    indicator: str | None
    target: int | float | None = Field(examples=[400])
    unit: str | None = Field(examples=["prindër"])
    deadline: date | None
    budget: BudgetRead | None
    funding_source: str | None
    status: ActivityStatus
    version: int
    recommendations: list[LinkedRecommendation]


class ObjectiveRead(BaseModel):
    """An objective with its activities."""

    id: int
    code: str = Field(examples=["1"])
    pillar: Pillar
    title: str
    activities: list[ActivityRead]


class PlanSummary(BaseModel):
    """An action plan as lists show it (without its objectives)."""

    id: int = Field(examples=[3])
    region: str = Field(examples=["AL-10"])
    title: str
    period_start: date
    period_end: date
    national_reference: str | None
    status: PlanStatus
    version: int
    created_at: datetime
    updated_at: datetime


class PlanRead(PlanSummary):
    """An action plan: the whole tree of objectives and activities, with ids."""

    objectives: list[ObjectiveRead]


# --- follow-ups on activities ------------------------------------------------------------------


class ActivityFollowUpCreate(FollowUpBase):
    """A progress report on an activity.

    `progress_value` is cumulative: the value achieved so far toward the activity's target, not
    the increment since the last report. `status`, when given, is the activity's status from
    `reported_on` on (until a later report says otherwise).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reported_on": "2018-10-06",
                    "institution": "DRSHSSH",
                    "description": "U zhvilluan 6 takime me prindërit në Shkodër dhe Vau i Dejës.",
                    "progress_value": 300,
                    "status": "in_progress",
                }
            ]
        },
    )

    progress_value: Annotated[float, Field(ge=0, le=MAX_TARGET)] | None = Field(
        default=None, description="Cumulative value achieved so far toward the target."
    )
    status: ActivityStatus | None = Field(
        default=None, description="The activity's status from `reported_on` on."
    )
