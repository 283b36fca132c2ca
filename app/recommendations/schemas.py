"""What crosses the wire about recommendations: the list item, the change document, history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from app.institutions.schemas import InstitutionSummary
from app.models import BodyKind, RecommendationStatus
from app.regions.schemas import RegionRead
from app.schemas import Id, WriteModel

MAX_NOTE = 4000

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)]
ActivityCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class RecommendationSort(StrEnum):
    """Orders of the recommendations list; `-` means descending. Undated ones come last."""

    due_on = "due_on"
    due_on_desc = "-due_on"
    created_at = "created_at"
    created_at_desc = "-created_at"


class BodySummary(BaseModel):
    """The body a meeting belongs to."""

    id: int = Field(examples=[2])
    kind: BodyKind
    name: str = Field(examples=["Tryeza Teknike Durrës"])


class MeetingSummary(BaseModel):
    """The meeting a recommendation was made at."""

    id: int = Field(examples=[7])
    held_on: date = Field(examples=["2017-10-27"])
    title: str = Field(examples=["Takim me Tryezën Teknike KRAT"])
    body: BodySummary
    region: RegionRead


class ResponsibleRead(BaseModel):
    """An institution responsible for a recommendation."""

    institution: InstitutionSummary
    lead: bool


class ActivityLinkRead(BaseModel):
    """The action-plan activity a recommendation is carried out through."""

    id: int = Field(examples=[31])
    plan_id: int = Field(examples=[3])
    code: str = Field(examples=["1.2"])


RECOMMENDATION_EXAMPLE: dict[str, Any] = {
    "id": 41,
    "key": "r1",
    "text": "Ngritja e një mekanizmi të përbashkët ZVAP–DRSHSSH për ndjekjen e nxënësve "
    "që braktisin shkollën.",
    "status": "open",
    "due_on": "2018-03-31",
    "overdue": True,
    "version": 1,
    "meeting": {
        "id": 7,
        "held_on": "2017-10-27",
        "title": "Takim me Tryezën Teknike KRAT",
        "body": {"id": 2, "kind": "technical_table", "name": "Tryeza Teknike Durrës"},
        "region": {"code": "AL-02", "name": "Durrës"},
    },
    "problem_id": 12,
    "responsible": [
        {
            "institution": {
                "id": 9,
                "name": "Zyra Vendore e Arsimit Parauniversitar Durrës",
                "abbreviation": "ZVAP",
            },
            "lead": True,
        }
    ],
    "activity": {"id": 31, "plan_id": 3, "code": "1.2"},
    "created_at": "2017-10-28T09:12:03Z",
    "updated_at": "2017-10-28T09:12:03Z",
}


class RecommendationRead(BaseModel):
    """A recommendation with its meeting, responsible institutions (lead first) and activity."""

    model_config = ConfigDict(json_schema_extra={"examples": [RECOMMENDATION_EXAMPLE]})

    id: int
    key: str = Field(description="The minutes document's own name for it, unique per meeting.")
    text: str
    status: RecommendationStatus
    due_on: date | None
    overdue: bool = Field(description="Past `due_on` while still `open` or `in_progress`.")
    version: int = Field(description="Bumped by every change; the ETag is derived from it.")
    meeting: MeetingSummary
    problem_id: int | None
    responsible: list[ResponsibleRead] = Field(description="Lead first, then in minutes order.")
    activity: ActivityLinkRead | None
    created_at: datetime
    updated_at: datetime


class ActivityRef(WriteModel):
    """An activity of an action plan of the recommendation's region, by plan id and code."""

    plan: Id = Field(examples=[3])
    code: ActivityCode = Field(examples=["1.2"])


class RecommendationUpdate(WriteModel):
    """Changes to a recommendation; absent fields stay as they are.

    `status` moves it through the workflow (with `note` for every change but
    open → in_progress); `due_on: null` removes the due date; `activity: null` unlinks it.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "in_progress", "note": "ZVAP dhe DRSHSSH nënshkruan protokollin."},
                {"due_on": "2018-06-30", "activity": {"plan": 3, "code": "1.2"}},
            ]
        },
    )

    # Typed without None so that an explicit null is rejected, not read as "no change".
    status: RecommendationStatus = Field(default=None)  # type: ignore[assignment]
    note: Note | None = Field(default=None, description="Why; kept in the history.")
    due_on: date | None = None
    activity: ActivityRef | None = None


class StatusChangeRead(BaseModel):
    """One entry of a recommendation's history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_status": "open",
                    "to_status": "in_progress",
                    "note": None,
                    "actor": "secretariat-durres",
                    "at": "2017-11-15T10:02:11Z",
                }
            ]
        }
    )

    from_status: RecommendationStatus | None = Field(
        description="Null for the entry that created the recommendation."
    )
    to_status: RecommendationStatus
    note: str | None
    actor: str
    at: datetime


# The 409 of a status change the workflow forbids, for the OpenAPI schema.
TRANSITION_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The workflow does not allow this status change",
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": PROBLEM_BASE + "conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "a recommendation cannot go from open to implemented; "
                    "allowed from open: in_progress, withdrawn",
                    "current_status": "open",
                    "allowed": ["in_progress", "withdrawn"],
                },
            }
        },
    }
}
