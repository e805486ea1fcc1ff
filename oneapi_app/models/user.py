"""users: accounts. Roles 0 guest / 1 common / 10 admin / 100 root; status 1 enabled / 2 disabled / 3 deleted."""

from enum import IntEnum

from sqlalchemy import CHAR, BigInteger, Column, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr, LongText


class Role(IntEnum):
    GUEST = 0
    COMMON = 1
    ADMIN = 10
    ROOT = 100


class UserStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2
    DELETED = 3


class UserBase(SQLModel):
    username: str = Field(default="", max_length=12)
    display_name: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=50)


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        Index("idx_users_username", "username", unique=True),
        Index("idx_users_display_name", "display_name"),
        Index("idx_users_email", "email"),
        Index("idx_users_github_id", "github_id"),
        Index("idx_users_wechat_id", "wechat_id"),
        Index("idx_users_lark_id", "lark_id"),
        Index("idx_users_oidc_id", "oidc_id"),
        Index("idx_users_access_token", "access_token", unique=True),
        Index("idx_users_aff_code", "aff_code", unique=True),
        Index("idx_users_inviter_id", "inviter_id"),
        {"sqlite_autoincrement": True},
    )

    id: int = Field(default=None, sa_column=Column(BigInt, primary_key=True, autoincrement=True))  # None until INSERT
    username: str = Field(default="", sa_column=Column(IndexedStr))
    password: str = Field(sa_column=Column(LongText, nullable=False))
    display_name: str = Field(default="", sa_column=Column(IndexedStr))
    role: int = Field(default=Role.COMMON, sa_column=Column(Integer, server_default=text("1")))
    status: int = Field(default=UserStatus.ENABLED, sa_column=Column(Integer, server_default=text("1")))
    email: str = Field(default="", sa_column=Column(IndexedStr))
    github_id: str = Field(default="", sa_column=Column(IndexedStr))
    wechat_id: str = Field(default="", sa_column=Column(IndexedStr))
    lark_id: str = Field(default="", sa_column=Column(IndexedStr))
    oidc_id: str = Field(default="", sa_column=Column(IndexedStr))
    access_token: str | None = Field(default=None, sa_column=Column(CHAR(32)))
    quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    used_quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    request_count: int = Field(default=0, sa_column=Column(Integer, server_default=text("0")))
    group: str = Field(default="default", sa_column=Column(String(32), server_default=text("'default'")))
    aff_code: str | None = Field(default=None, sa_column=Column(String(32)))
    inviter_id: int = Field(default=0, sa_column=Column(Integer))
