"""What crosses the wire about API tokens."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models import Role
from app.regions.schemas import RegionCode
from app.schemas import Id, WriteModel

TokenName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]


class TokenCreate(WriteModel):
    """A new token: a secretariat is bound to a region, an institution token to an institution."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "sekretariati-durres", "role": "secretariat", "region": "AL-02"}]
        },
    )

    name: TokenName = Field(description="Unique; recorded as the actor of every write.")
    role: Role
    region: RegionCode | None = Field(default=None, description="Required for `secretariat`.")
    institution: Id | None = Field(default=None, description="Required for `institution`.")


class TokenRead(BaseModel):
    """A token's record (never the token itself)."""

    id: int
    name: str
    role: Role
    region: str | None
    institution: int | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    """A token just created: `token` is shown this once and never again."""

    token: str = Field(examples=["krat_3q2x…"])
