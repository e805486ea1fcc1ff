"""Channels (upstream provider keys): what an admin sees (``ChannelPublic``: never the key) and may send
(``ChannelCreate``: one channel per line of ``key``; ``ChannelUpdate``; ``ChannelEdit`` = with the row id)."""

from __future__ import annotations

from pydantic import Field

from ..channel import ChannelBase
from .common import Body, NoNulls, RowId

INT32 = 2**31


class ChannelPublic(ChannelBase, NoNulls):
    """A channel as the API shows it: never the key. NULL columns answer "" or 0 (one-api's UI parses
    ``model_mapping`` as JSON when it is not "")."""

    id: int
    status: int
    created_time: int
    test_time: int
    response_time: int
    balance: float
    balance_updated_time: int
    used_quota: int
    weight: int = 0
    base_url: str = ""
    other: str = ""
    model_mapping: str = ""
    priority: int = 0
    system_prompt: str = ""


class ChannelCreate(Body):
    type: int = Field(default=1, ge=0, le=1000)
    key: str = Field(max_length=16_000)
    name: str = Field(default="", max_length=100)
    weight: int | None = Field(default=0, ge=0, le=INT32)
    base_url: str | None = Field(default="", max_length=191)
    models: str = Field(default="", max_length=100_000)
    group: str = Field(default="default", max_length=32)
    model_mapping: str | None = Field(default="", max_length=1024)
    priority: int | None = Field(default=0, ge=-INT32, le=INT32)
    config: str = Field(default="", max_length=100_000)
    system_prompt: str | None = Field(default=None, max_length=16_000)


class ChannelUpdate(Body):
    """Absent or null fields keep the stored values, and so do a zero type and an empty name, models, group,
    key or base URL (one-api's rule); a ``status`` different from the stored one is applied with the edit."""

    status: int | None = Field(default=None, ge=1, le=3)
    type: int | None = Field(default=None, ge=0, le=1000)
    key: str | None = Field(default=None, max_length=16_000)
    name: str | None = Field(default=None, max_length=100)
    weight: int | None = Field(default=None, ge=0, le=INT32)
    base_url: str | None = Field(default=None, max_length=191)
    other: str | None = Field(default=None, max_length=191)
    models: str | None = Field(default=None, max_length=100_000)
    group: str | None = Field(default=None, max_length=32)
    model_mapping: str | None = Field(default=None, max_length=1024)
    priority: int | None = Field(default=None, ge=-INT32, le=INT32)
    config: str | None = Field(default=None, max_length=100_000)
    system_prompt: str | None = Field(default=None, max_length=16_000)


class ChannelEdit(ChannelUpdate):
    id: RowId
