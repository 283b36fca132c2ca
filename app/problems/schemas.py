"""What crosses the wire about the problems raised at meetings."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.institutions.schemas import InstitutionRef, InstitutionSummary
from app.meetings.schemas import MAX_LONG_TEXT, BodySummary
from app.models import ProblemTheme
from app.regions.schemas import RegionRead
from app.schemas import WriteModel

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LONG_TEXT)
]


class MeetingRef(BaseModel):
    """The meeting a problem was raised at."""

    id: int = Field(examples=[7])
    held_on: date = Field(examples=["2017-10-27"])
    title: str = Field(examples=["Takim me Tryezën Teknike KRAT"])
    body: BodySummary
    region: RegionRead


class ProblemRead(BaseModel):
    """A problem raised at a meeting."""

    id: int = Field(examples=[12])
    key: str = Field(examples=["p1"], description="Its key in the minutes.")
    meeting: MeetingRef
    raised_by: InstitutionSummary | None
    theme: ProblemTheme
    title: str = Field(examples=["Monitorimi i nxënësve që largohen nga shkolla"])
    description: str | None
    withdrawn: bool = Field(
        description="Removed from the minutes by an amendment, or its meeting was withdrawn."
    )
    withdrawn_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProblemUpdate(WriteModel):
    """Changes to a problem; absent fields stay as they are. `raised_by: null` clears it.

    An amendment of the minutes (`PUT /meetings/{id}`) later sets the problem to what the
    amended minutes say.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"theme": "child_protection", "raised_by": "ZVAP"}]},
    )

    theme: ProblemTheme | None = None
    title: Title | None = None
    description: Description | None = Field(default=None, description="At most 5,000 characters.")
    raised_by: InstitutionRef | None = None
