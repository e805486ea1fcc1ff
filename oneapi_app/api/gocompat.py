"""One API's wire conventions on /api, in one place, so its own web UIs and its users' scripts work unchanged.

One API is a Go program behind the gin router; its clients rely on three of their habits:

- **Numeric query values** are read with ``strconv.Atoi`` and the error ignored: an empty or non-integer value
  (``&channel=``, ``start_timestamp=NaN``, ``end_timestamp=1700000000.5``) reads as 0. ``GoInt`` does the
  same for every numeric query type of /api (``api.common``); an integer outside a parameter's range is still
  refused with ``success: false``.
- **Trailing slashes**: gin redirects a path that only differs from a route by its trailing slash (301 for
  GET, 307 otherwise, so the method and body are kept). ``slash_twin`` finds that route among the /api and
  /v1 routes for the JSON 404 fallback of ``api.create_api``, which redirects there with the query string.
- **Numbers in JSON**: Go prints a float64 without ".0" when it is whole (``500000``, not ``500000.0``).
  ``GoJSONResponse`` renders the /api answers that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BeforeValidator
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

_GO_INT = re.compile(r"[+-]?[0-9]+")


def atoi_or_zero(value: Any) -> Any:
    """A query value as Go's ``strconv.Atoi`` reads it when the error is ignored: not an integer -> 0."""
    if isinstance(value, str):
        if not _GO_INT.fullmatch(value):
            return 0
        try:
            return int(value)
        except ValueError:  # thousands of digits: let the type's own check refuse it
            return value
    return value


# Metadata for ``Annotated[int, Query(...), GoInt]`` (after the Query, so the schema keeps its bounds).
GoInt = BeforeValidator(atoi_or_zero)


def slash_twin(scope: Scope, routes: Iterable[BaseRoute]) -> str | None:
    """The request's path with its trailing slash added or removed, when one of ``routes`` serves that path
    for this method (gin's RedirectTrailingSlash); None otherwise."""
    path: str = scope["path"]
    twin = path[:-1] if path.endswith("/") else path + "/"
    if not twin or twin.endswith("//"):
        return None
    twin_scope = {**scope, "path": twin}
    if any(route.matches(twin_scope)[0] is Match.FULL for route in routes):
        return twin
    return None


def go_number(value: Any) -> Any:
    """Whole floats as ints, recursively through lists and dicts (how Go's encoding/json prints float64)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: go_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [go_number(v) for v in value]
    return value


class GoJSONResponse(JSONResponse):
    """The JSON of the /api routes, with One API's number formatting."""

    def render(self, content: Any) -> bytes:
        return super().render(go_number(content))
