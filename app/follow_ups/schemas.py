"""What crosses the wire about follow-ups on recommendations (and, alike, on activities)."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app import clock
from app.institutions.schemas import InstitutionRef, InstitutionSummary
from app.models import RecommendationStatus
from app.schemas import WriteModel

MAX_DESCRIPTION = 4000


def _not_in_future(value: date) -> date:
    if value > clock.today():
        raise ValueError("date is in the future")
    return value


ReportedOn = Annotated[date, AfterValidator(_not_in_future)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)
]


class FollowUpBase(WriteModel):
    """What every follow-up reports: when, which institution, and what was done."""

    reported_on: ReportedOn = Field(
        description="The day the action was reported; not in the future.",
        examples=["2018-02-15"],
    )
    institution: InstitutionRef | None = Field(
        default=None,
        description="The reporting institution, in the subject's region or national. "
        "An institution token reports for its own institution: it may omit this.",
    )
    description: Description = Field(
        description="What was done; also the note of a status change.",
        examples=["U nënshkrua protokolli i bashkëpunimit ZVAP–DRSHSSH."],
    )


class RecommendationFollowUpCreate(FollowUpBase):
    """A follow-up on a recommendation, optionally moving its status through the workflow."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reported_on": "2018-02-15",
                    "institution": "ZVAP",
                    "description": "U nënshkrua protokolli i bashkëpunimit ZVAP–DRSHSSH.",
                    "status": "in_progress",
                }
            ]
        },
    )

    status: RecommendationStatus | None = Field(
        default=None,
        description="The recommendation's new status, by the same rules as "
        "`PATCH /recommendations/{id}` (the description is the note).",
    )


class FollowUpRead(BaseModel):
    """A reported follow-up action; exactly one of `recommendation_id` and `activity_id` is set."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "recommendation_id": 41,
                    "activity_id": None,
                    "reported_on": "2018-02-15",
                    "institution": {
                        "id": 9,
                        "name": "Zyra Vendore e Arsimit Parauniversitar Durrës",
                        "abbreviation": "ZVAP",
                    },
                    "description": "U nënshkrua protokolli i bashkëpunimit ZVAP–DRSHSSH.",
                    "progress_value": None,
                    "new_status": "in_progress",
                    "actor": "zvap-durres",
                    "created_at": "2018-02-15T14:03:00Z",
                }
            ]
        }
    )

    id: int
    recommendation_id: int | None
    activity_id: int | None
    reported_on: date
    institution: InstitutionSummary
    description: str
    progress_value: float | None = Field(description="Activities only: cumulative value so far.")
    new_status: str | None = Field(description="The status this follow-up moved its subject to.")
    actor: str = Field(description="The name of the token that reported it.")
    created_at: datetime
