"""Tokens (``sk-`` keys): what the owner sees (``TokenPublic``) and may send (``TokenCreate``, ``TokenUpdate``;
``TokenEdit`` = an update with the row id, as PUT /api/token/ sends it)."""

from __future__ import annotations

from pydantic import Field

from ..token import TokenBase
from .common import Body, NoNulls, Quota, RowId

MAX_EXPIRY = 2**40
LIMIT_MAX = 2**40


class TokenPublic(TokenBase, NoNulls):
    """A token as its owner sees it (the key included: it is theirs to copy, as in one-api). An empty or NULL
    ``models``/``subnet`` answers "" (one-api's UI splits ``models`` on commas)."""

    id: int
    user_id: int
    key: str
    status: int
    created_time: int
    accessed_time: int
    used_quota: int
    models: str = ""
    subnet: str = ""


class TokenCreate(Body):
    name: str = Field(default="", max_length=30)
    expired_time: int = Field(default=-1, ge=-1, le=MAX_EXPIRY)  # -1 = never
    remain_quota: Quota = 0
    unlimited_quota: bool = False
    models: str | None = Field(default=None, max_length=10000)
    subnet: str | None = Field(default="", max_length=2000)
    rpm_limit: int = Field(default=0, ge=-1, le=LIMIT_MAX)  # 0 = the group's default, -1 = no limit
    tpm_limit: int = Field(default=0, ge=-1, le=LIMIT_MAX)
    concurrency_limit: int = Field(default=0, ge=-1, le=LIMIT_MAX)


class TokenUpdate(Body):
    """Absent or null fields keep the stored values; ``status`` is applied only by a status-only update."""

    status: int | None = Field(default=None, ge=1, le=4)
    name: str | None = Field(default=None, max_length=30)
    expired_time: int | None = Field(default=None, ge=-1, le=MAX_EXPIRY)
    remain_quota: Quota | None = None
    unlimited_quota: bool | None = None
    models: str | None = Field(default=None, max_length=10000)
    subnet: str | None = Field(default=None, max_length=2000)
    rpm_limit: int | None = Field(default=None, ge=-1, le=LIMIT_MAX)
    tpm_limit: int | None = Field(default=None, ge=-1, le=LIMIT_MAX)
    concurrency_limit: int | None = Field(default=None, ge=-1, le=LIMIT_MAX)


class TokenEdit(TokenUpdate):
    id: RowId
