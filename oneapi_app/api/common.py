"""Shared query and path types of the /api routes: bounded ids, pages, keywords and timestamps (bad input is
refused with ``success: false`` and a clear message by the validation handler, never a 500). The request
bodies live in ``models.schemas``, shared with the dashboard.

Every numeric query parameter carries ``GoInt`` (after its ``Query``): as in One API, an empty or non-integer
value reads as 0, while an integer outside the parameter's range is refused (tests/api hold every route to
it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from ..errors import AppError
from ..i18n import msg
from ..models.schemas import MAX_ID
from .gocompat import GoInt

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Page = Annotated[int, Query(ge=0, le=1_000_000, description="0-based page of 10 rows"), GoInt]
Keyword = Annotated[str, Query(max_length=100)]
Timestamp = Annotated[int, Query(ge=0, le=2**40), GoInt]


def reject_nul_in_url(request: Request) -> None:
    """Router-level guard: no NUL in the path or query (they would reach the database)."""
    if "%00" in request.url.query or "\x00" in request.url.path or "%00" in request.url.path:
        raise AppError(msg("api.nul_characters"), status=400)
