"""Shared request types of the /api routes: bounded ids, pages, quotas and strings (bad input is refused with
``success: false`` and a clear message by the validation handler, never a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import AppError

MAX_ID = 2**53 - 1
MAX_QUOTA = 2**53 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Page = Annotated[int, Query(ge=0, le=1_000_000, description="0-based page of 10 rows")]
Keyword = Annotated[str, Query(max_length=100)]
Quota = Annotated[int, Field(ge=0, le=MAX_QUOTA)]
Timestamp = Annotated[int, Query(ge=0, le=2**40)]


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


def reject_nul_in_url(request: Request) -> None:
    """Router-level guard: no NUL in the path or query (they would reach the database)."""
    if "%00" in request.url.query or "\x00" in request.url.path or "%00" in request.url.path:
        raise AppError("invalid request: NUL characters are not allowed", status=400)
