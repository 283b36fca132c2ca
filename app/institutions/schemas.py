"""What crosses the wire about institutions, and how other documents refer to one."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models import InstitutionKind, InstitutionLevel
from app.regions.schemas import RegionCode
from app.schemas import Id, WriteModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Abbreviation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]

# An institution reference anywhere in the API: an id, or a name or abbreviation matched case-
# and diacritic-insensitively within the region concerned and the national institutions.
InstitutionRef = Annotated[
    Id | Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)],
    Field(
        description="An institution id, or its name or abbreviation "
        "(case- and diacritic-insensitive).",
        examples=["ZVAP", 9, "Prefektura e Qarkut Durres"],
    ),
]


class InstitutionCreate(WriteModel):
    """A new member institution. Without `region` it is national or international."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Drejtoria Vendore e Policisë Durrës",
                    "abbreviation": "DVP Durrës",
                    "kind": "police",
                    "region": "AL-02",
                }
            ]
        },
    )

    name: Name
    abbreviation: Abbreviation | None = None
    kind: InstitutionKind
    region: RegionCode | None = None
    level: InstitutionLevel | None = Field(
        default=None, description="Derived from kind and region when absent."
    )
    active: bool = True


class InstitutionUpdate(WriteModel):
    """Changes to an institution; absent fields stay as they are."""

    name: Name | None = None
    abbreviation: Abbreviation | None = None
    kind: InstitutionKind | None = None
    level: InstitutionLevel | None = None
    active: bool | None = None


class InstitutionSummary(BaseModel):
    """An institution as other resources show it."""

    id: int = Field(examples=[9])
    name: str = Field(examples=["Zyra Vendore e Arsimit Parauniversitar Durrës"])
    abbreviation: str | None = Field(examples=["ZVAP"])


class InstitutionRead(BaseModel):
    """A member institution."""

    id: int = Field(examples=[9])
    name: str = Field(examples=["Zyra Vendore e Arsimit Parauniversitar Durrës"])
    abbreviation: str | None = Field(examples=["ZVAP"])
    kind: InstitutionKind
    level: InstitutionLevel
    region: str | None = Field(examples=["AL-02"], description="Null for national institutions.")
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
