"""What every request model shares: bounded ids and quotas, and ``Body`` (unknown keys ignored, NUL refused).

Bad input is refused by these bounds before a service runs: with ``success: false`` and a clear message on
/api (the validation handler), as a toast on the dashboard (``pages.actions``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ID = 2**53 - 1
MAX_QUOTA = 2**53 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Quota = Annotated[int, Field(ge=0, le=MAX_QUOTA)]
PositiveQuota = Annotated[int, Field(ge=1, le=MAX_QUOTA)]


class Body(BaseModel):
    """Request bodies ignore unknown keys (one-api's UI sends whole objects back)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it up front everywhere.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


def given_fields(data: BaseModel | dict, *, exclude: frozenset[str] = frozenset({"id"})) -> dict:
    """The fields a partial update was given (a dict passes as it is)."""
    if isinstance(data, BaseModel):
        return data.model_dump(exclude_unset=True, exclude=set(exclude))
    return dict(data)
