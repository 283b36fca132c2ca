"""Wire types shared by every resource."""

from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import Invalid

# Ids are INTEGER columns (PostgreSQL's 4-byte integer): a larger number names nothing, and
# sending it to the database would fail there instead of being refused here.
MAX_ID = 2_147_483_647

Id = Annotated[int, Field(ge=1, le=MAX_ID)]

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters"


class WriteModel(BaseModel):
    """Base of every write document: unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")

    # PostgreSQL cannot store NUL in text and SQLite would store what PostgreSQL refuses, so
    # no text with NUL is accepted on either. Nested documents check their own fields.
    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and NUL in text for text in texts):
            raise ValueError(NUL_MESSAGE)
        return value


async def reject_nul_in_query(request: Request) -> None:
    """Refuse query parameters holding NUL, which no text column can be compared with.

    Async, as it only reads the request: a sync dependency would cost a worker-thread hop.
    """
    errors = [
        {"parameter": name, "detail": NUL_MESSAGE}
        for name, value in request.query_params.multi_items()
        if NUL in value or NUL in name
    ]
    if errors:
        raise Invalid(errors)
