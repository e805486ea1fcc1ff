"""Redemption codes: what an admin sees (``RedemptionPublic``) and may send (``RedemptionCreate``: up to 100
codes at once, ``RedemptionUpdate``/``RedemptionEdit``), and what a user redeems (``Redeem``)."""

from __future__ import annotations

from pydantic import Field

from .common import Body, NoNulls, PositiveQuota, RowId

MAX_BATCH = 100


class RedemptionPublic(NoNulls):
    """A code as an admin sees it (the key included: admins hand it out)."""

    id: int
    user_id: int = 0
    key: str = ""
    status: int = 1
    name: str = ""
    quota: int = 0
    created_time: int = 0
    redeemed_time: int = 0


class RedemptionCreate(Body):
    name: str = Field(max_length=20)
    quota: PositiveQuota = 100
    count: int = Field(default=1, ge=1, le=MAX_BATCH)


class RedemptionUpdate(Body):
    """A status-only update changes the status alone; otherwise name and quota (absent = unchanged)."""

    status: int | None = Field(default=None, ge=1, le=3)
    name: str | None = Field(default=None, max_length=20)
    quota: PositiveQuota | None = None


class RedemptionEdit(RedemptionUpdate):
    id: RowId


class Redeem(Body):
    key: str = Field(default="", max_length=64)
