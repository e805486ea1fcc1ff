"""Users: what the API shows (``UserPublic``: never the password hash or the access token), and what an admin
(``UserCreate``, ``UserEdit``, ``UserManage``, ``TopUp``) or the user (``SelfUpdate``) may send."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..user import UserBase
from .common import Body, NoNulls, PositiveQuota, Quota, RowId

ManageAction = Literal["disable", "enable", "delete", "promote", "demote"]


class UserPublic(UserBase, NoNulls):
    """What the API may show about a user: never the password hash or the access token."""

    id: int
    role: int
    status: int
    github_id: str = ""
    wechat_id: str = ""
    lark_id: str = ""
    oidc_id: str = ""
    quota: int = 0
    used_quota: int = 0
    request_count: int = 0
    group: str = "default"
    aff_code: str = ""
    inviter_id: int = 0


class UserCreate(Body):
    username: str = Field(max_length=12)
    password: str = Field(max_length=20)
    display_name: str = Field(default="", max_length=20)


class SelfUpdate(Body):
    """What users may change of their own account (absent = unchanged; an empty password keeps it)."""

    username: str | None = Field(default=None, max_length=12)
    password: str | None = Field(default=None, max_length=20)
    display_name: str | None = Field(default=None, max_length=20)


class UserUpdate(SelfUpdate):
    """What an admin may change of a user (absent = unchanged; an empty password keeps it)."""

    email: str | None = Field(default=None, max_length=50)
    group: str | None = Field(default=None, max_length=32)
    quota: Quota | None = None
    role: int | None = Field(default=None, ge=1, le=100)


class UserEdit(UserUpdate):
    """PUT /api/user/: the update and the row it applies to."""

    id: RowId


class UserManage(Body):
    username: str = Field(max_length=64)
    action: ManageAction


class TopUp(Body):
    user_id: RowId
    quota: PositiveQuota
    remark: str = Field(default="", max_length=200)
