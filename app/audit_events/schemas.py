"""What crosses the wire about the audit log."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventRead(BaseModel):
    """One write, as the audit log recorded it."""

    id: int
    at: datetime
    actor: str = Field(
        description="The name of the token that made the change.", examples=["sekretariati-durres"]
    )
    action: str = Field(examples=["create", "update", "replace_members"])
    entity: str = Field(examples=["institution"])
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
