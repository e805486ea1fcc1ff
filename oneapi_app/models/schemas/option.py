"""Options: one key and its new value (stored as a string; the typed view is services/options.Options)."""

from __future__ import annotations

from pydantic import Field

from .common import Body


class OptionUpdate(Body):
    key: str = Field(min_length=1, max_length=191)
    value: str | bool | int | float | None = Field(default="")
