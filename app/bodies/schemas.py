"""What crosses the wire about bodies (KRATs and Technical Tables) and their members."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.institutions.schemas import InstitutionRef, InstitutionSummary
from app.models import BodyKind, MemberRole
from app.regions.schemas import RegionCode
from app.schemas import Id, WriteModel

BodyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MAX_MEMBERS = 200


class BodyCreate(WriteModel):
    """A new body; each region has at most one body of each kind."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "technical_table",
                    "region": "AL-02",
                    "name": "Tryeza Teknike Durrës",
                    "parent_id": 1,
                }
            ]
        },
    )

    kind: BodyKind
    region: RegionCode
    name: BodyName
    parent_id: Id | None = Field(
        default=None, description="The committee a Technical Table works under (same region)."
    )


class BodyUpdate(WriteModel):
    """Changes to a body; absent fields stay as they are."""

    name: BodyName | None = None
    parent_id: Id | None = None


class BodyRead(BaseModel):
    """A KRAT or a Technical Table."""

    id: int = Field(examples=[2])
    kind: BodyKind
    region: str = Field(examples=["AL-02"])
    name: str = Field(examples=["Tryeza Teknike Durrës"])
    parent_id: int | None = Field(examples=[1])
    version: int
    created_at: datetime
    updated_at: datetime


class MemberIn(WriteModel):
    """One seat in a body, as `PUT /bodies/{id}/members` takes it."""

    institution: InstitutionRef
    role: MemberRole = MemberRole.member
    since: date | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _term_in_order(self) -> "MemberIn":
        if self.since and self.until and self.until < self.since:
            raise ValueError("until must not be before since")
        return self


class MemberRead(BaseModel):
    """One seat in a body."""

    institution: InstitutionSummary
    role: MemberRole
    since: date | None
    until: date | None
