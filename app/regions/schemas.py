"""What crosses the wire about regions."""

from typing import Annotated

from pydantic import BaseModel, Field

REGION_CODE_PATTERN = r"^AL-(0[1-9]|1[0-2])$"

RegionCode = Annotated[
    str,
    Field(pattern=REGION_CODE_PATTERN, description="ISO 3166-2:AL code", examples=["AL-02"]),
]


class RegionRead(BaseModel):
    """One of the 12 qarqe."""

    code: str = Field(examples=["AL-02"])
    name: str = Field(examples=["Durrës"])
