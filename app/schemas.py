"""Wire types shared by every resource."""

from pydantic import BaseModel, ConfigDict


class WriteModel(BaseModel):
    """Base of every write document: unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")
