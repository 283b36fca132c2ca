"""What crosses the wire about meetings: the minutes document a secretariat posts, and reads.

Every string and list of the minutes document is bounded (the limits are in the field
descriptions of the OpenAPI schema); the whole request is also capped by KRAT_MAX_BODY_BYTES.
"""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.institutions.schemas import Abbreviation, InstitutionRef, InstitutionSummary
from app.institutions.schemas import Name as InstitutionName
from app.models import (
    BodyKind,
    InstitutionKind,
    InstitutionLevel,
    MeetingKind,
    ProblemTheme,
    RecommendationStatus,
)
from app.regions.schemas import RegionCode, RegionRead
from app.schemas import Id, WriteModel

MAX_AGENDA = 50
MAX_NEW_INSTITUTIONS = 50
MAX_ATTENDEES = 200
MAX_REPRESENTATIVES = 20
MAX_PROBLEMS = 200
MAX_RECOMMENDATIONS = 500
MAX_RESPONSIBLE = 20
MAX_LONG_TEXT = 5000
MAX_SUMMARY = 20000


Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LONG_TEXT)
]
SummaryText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY)
]


def _check_key(value: str) -> str:
    if not all(ch.isalnum() or ch in "-_." for ch in value):
        raise ValueError("a key may hold only letters, digits, '-', '_' and '.'")
    return value


Key = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(_check_key),
    Field(
        description="The document's own name for the item, unique within its list "
        "(at most 40 letters, digits, '-', '_', '.'). Amendments match items by key.",
        examples=["r1"],
    ),
]
ExternalRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(
        description="The secretariat's own reference for the minutes (at most 100 characters); "
        "posting is idempotent by body and external_ref.",
        examples=["DR-TT-2017-10-27"],
    ),
]
ActivityCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]

EXAMPLE_MINUTES: dict[str, Any] = {
    "external_ref": "DR-TT-2017-10-27",
    "body": {"region": "AL-02", "kind": "technical_table"},
    "held_on": "2017-10-27",
    "kind": "regular",
    "title": "Takim me Tryezën Teknike KRAT",
    "location": "Prefektura Durrës",
    "chair": {
        "name": "Roland Nasto",
        "position": "Prefekt",
        "institution": "Prefektura e Qarkut Durrës",
    },
    "summary": "Në kuadër të muajit të ndërgjegjësimit …",
    "agenda": ["Prezantimi i veprimtarisë së anëtarëve", "Problematikat e konstatuara"],
    "new_institutions": [{"name": "World Vision Shqipëri", "abbreviation": "WV", "kind": "ngo"}],
    "attendees": [
        {"institution": "Bashkia Durrës", "representatives": [{"name": "…", "position": "…"}]},
        {"institution": "World Vision Shqipëri"},
        {"institution": 17},
    ],
    "problems": [
        {
            "key": "p1",
            "raised_by": "ZVAP",
            "theme": "school_dropout",
            "title": "Monitorimi i nxënësve që largohen nga shkolla",
            "description": "Mungojnë strukturat për monitorimin dhe ndjekjen institucionale "
            "të rasteve.",
        }
    ],
    "recommendations": [
        {
            "key": "r1",
            "problem": "p1",
            "text": "Ngritja e një mekanizmi të përbashkët ZVAP–DRSHSSH për ndjekjen e nxënësve "
            "që braktisin shkollën.",
            "responsible": [{"institution": "ZVAP", "lead": True}, {"institution": "DRSHSSH"}],
            "due_on": "2018-03-31",
            "activity": {"plan": 3, "code": "1.2"},
        }
    ],
}


# --- the minutes document (write) ---------------------------------------------------------------


class BodySelector(WriteModel):
    """The body that met: `{"id": N}`, or `{"region": CODE, "kind": KIND}`."""

    id: Id | None = Field(default=None, examples=[2])
    region: RegionCode | None = None
    kind: BodyKind | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "BodySelector":
        by_id = self.id is not None
        by_kind = self.region is not None or self.kind is not None
        if by_id == by_kind or (by_kind and (self.region is None or self.kind is None)):
            raise ValueError('give either {"id": N} or {"region": CODE, "kind": KIND}')
        return self


class Chair(WriteModel):
    """Who chaired the meeting."""

    name: Text200 = Field(examples=["Roland Nasto"])
    position: Text200 | None = Field(default=None, examples=["Prefekt"])
    institution: InstitutionRef | None = None


class NewInstitution(WriteModel):
    """An institution the minutes mention for the first time; created in the body's region."""

    name: InstitutionName
    abbreviation: Abbreviation | None = None
    kind: InstitutionKind
    level: InstitutionLevel | None = Field(
        default=None, description="Derived from kind and region when absent."
    )


class Representative(WriteModel):
    """A person who represented an institution at the meeting."""

    name: Text200
    position: Text200 | None = None


class Attendee(WriteModel):
    """An institution present at the meeting, with its representatives."""

    institution: InstitutionRef
    representatives: list[Representative] = Field(
        default_factory=list, max_length=MAX_REPRESENTATIVES, description="At most 20."
    )


class ProblemIn(WriteModel):
    """A problem raised at the meeting."""

    key: Key
    raised_by: InstitutionRef | None = None
    theme: ProblemTheme
    title: Text300
    description: LongText | None = Field(default=None, description="At most 5,000 characters.")


class ResponsibleIn(WriteModel):
    """An institution responsible for carrying out a recommendation."""

    institution: InstitutionRef
    lead: bool = False


class ActivityLink(WriteModel):
    """A plan activity the recommendation contributes to: the plan's id and the activity code."""

    plan: Id = Field(examples=[3])
    code: ActivityCode = Field(examples=["1.2"])


class RecommendationIn(WriteModel):
    """A recommendation made at the meeting."""

    key: Key
    problem: Key | None = Field(default=None, description="The key of a problem of this document.")
    text: LongText = Field(description="At most 5,000 characters.")
    responsible: list[ResponsibleIn] = Field(
        min_length=1,
        max_length=MAX_RESPONSIBLE,
        description="1 to 20 institutions; at most one leads.",
    )
    due_on: date | None = None
    activity: ActivityLink | None = None


class MinutesDocument(WriteModel):
    """The minutes of one meeting, as a secretariat posts them (`POST /meetings`).

    Limits: title 300 characters, location 200, summary 20,000, agenda 50 items of 500,
    new_institutions 50, attendees 200 (20 representatives each), problems 200,
    recommendations 500 (20 responsible each), texts and descriptions 5,000 characters.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_MINUTES]})

    external_ref: ExternalRef
    body: BodySelector
    held_on: date
    kind: MeetingKind
    title: Text300
    location: Text200 | None = None
    chair: Chair | None = None
    summary: SummaryText | None = None
    agenda: list[Text500] = Field(default_factory=list, max_length=MAX_AGENDA)
    new_institutions: list[NewInstitution] = Field(
        default_factory=list, max_length=MAX_NEW_INSTITUTIONS
    )
    attendees: list[Attendee] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    problems: list[ProblemIn] = Field(default_factory=list, max_length=MAX_PROBLEMS)
    recommendations: list[RecommendationIn] = Field(
        default_factory=list, max_length=MAX_RECOMMENDATIONS
    )


# --- reads --------------------------------------------------------------------------------------


class BodySummary(BaseModel):
    """The body a meeting belongs to."""

    id: int = Field(examples=[2])
    region: str = Field(examples=["AL-02"])
    kind: BodyKind
    name: str = Field(examples=["Tryeza Teknike Durrës"])


class ChairRead(BaseModel):
    """Who chaired the meeting."""

    name: str
    position: str | None
    institution: InstitutionSummary | None


class AttendeeRead(BaseModel):
    """An institution present at the meeting."""

    institution: InstitutionSummary
    representatives: list[dict[str, Any]]


class ProblemInMinutes(BaseModel):
    """A problem as the minutes show it."""

    id: int
    key: str
    raised_by: InstitutionSummary | None
    theme: ProblemTheme
    title: str
    description: str | None


class ResponsibleRead(BaseModel):
    """A responsible institution of a recommendation."""

    institution: InstitutionSummary
    lead: bool


class ActivityRef(BaseModel):
    """A plan activity a recommendation is linked to."""

    id: int = Field(examples=[31])
    plan_id: int = Field(examples=[3])
    code: str = Field(examples=["1.2"])


class RecommendationInMinutes(BaseModel):
    """A recommendation as the minutes show it, with its current status."""

    id: int
    key: str
    problem: str | None = Field(description="The key of its problem in these minutes.")
    problem_id: int | None
    text: str
    status: RecommendationStatus
    version: int
    responsible: list[ResponsibleRead]
    due_on: date | None
    activity: ActivityRef | None


class MeetingRead(BaseModel):
    """The minutes of a meeting as stored, with ids added.

    Problems and recommendations removed by an amendment are left out (they are kept, withdrawn,
    and still listed by `/problems` and `/recommendations`). `version` changes whenever the
    minutes or any of their problems or recommendations change; the ETag carries it.
    """

    id: int
    external_ref: str
    body: BodySummary
    region: RegionRead
    held_on: date
    kind: MeetingKind
    title: str
    location: str | None
    chair: ChairRead | None
    summary: str | None
    agenda: list[str]
    attendees: list[AttendeeRead]
    problems: list[ProblemInMinutes]
    recommendations: list[RecommendationInMinutes]
    withdrawn: bool
    withdrawn_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class MeetingSummary(BaseModel):
    """A meeting as lists show it."""

    id: int = Field(examples=[7])
    external_ref: str = Field(examples=["DR-TT-2017-10-27"])
    held_on: date = Field(examples=["2017-10-27"])
    kind: MeetingKind
    title: str = Field(examples=["Takim me Tryezën Teknike KRAT"])
    body: BodySummary
    region: RegionRead
    problems: int = Field(description="Number of problems in the current minutes.")
    recommendations: int = Field(description="Number of recommendations in the current minutes.")
    withdrawn: bool
