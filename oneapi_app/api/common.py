"""Shared request types of the /api routes: bounded ids, pages, quotas and strings (bad input is refused with
``success: false`` and a clear message by the validation handler, never a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

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
