"""Shared query and path types of the /api routes: bounded ids, pages, keywords and timestamps (bad input is
refused with ``success: false`` and a clear message by the validation handler, never a 500). The request
bodies live in ``models.schemas``, shared with the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from ..errors import AppError
from ..models.schemas import MAX_ID

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Page = Annotated[int, Query(ge=0, le=1_000_000, description="0-based page of 10 rows")]
Keyword = Annotated[str, Query(max_length=100)]
Timestamp = Annotated[int, Query(ge=0, le=2**40)]


def reject_nul_in_url(request: Request) -> None:
    """Router-level guard: no NUL in the path or query (they would reach the database)."""
    if "%00" in request.url.query or "\x00" in request.url.path or "%00" in request.url.path:
        raise AppError("invalid request: NUL characters are not allowed", status=400)
