"""tokens: the ``sk-`` keys users hand out. Status 1 enabled / 2 disabled / 3 expired / 4 exhausted."""

from enum import IntEnum

from sqlalchemy import CHAR, BigInteger, Boolean, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr


class TokenStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2
    EXPIRED = 3
    EXHAUSTED = 4


class TokenBase(SQLModel):
    name: str = Field(default="", max_length=30)
    expired_time: int = -1  # -1 = never
    remain_quota: int = 0
    unlimited_quota: bool = False
    models: str | None = None  # comma-separated allow-list; empty = all
    subnet: str | None = ""  # comma-separated CIDRs; empty = anywhere
    # Rate limits of this key (relay/limits.py): 0 = the group's default (GroupRateLimits), -1 = none.
    rpm_limit: int = 0  # requests per minute
    tpm_limit: int = 0  # tokens (prompt + completion) per minute
    concurrency_limit: int = 0  # requests in flight at once


class Token(TokenBase, table=True):
    __tablename__ = "tokens"
    __table_args__ = (
        Index("idx_tokens_key", "key", unique=True),
        Index("idx_tokens_name", "name"),
        {"sqlite_autoincrement": True},
    )

    id: int = Field(default=None, sa_column=Column(BigInt, primary_key=True, autoincrement=True))  # None until INSERT
    user_id: int = Field(default=0, sa_column=Column(BigInteger))
    key: str = Field(sa_column=Column(CHAR(48)))
    status: int = Field(default=TokenStatus.ENABLED, sa_column=Column(BigInteger, server_default=text("1")))
    name: str = Field(default="", sa_column=Column(IndexedStr))
    created_time: int = Field(default=0, sa_column=Column(BigInteger))
    accessed_time: int = Field(default=0, sa_column=Column(BigInteger))
    expired_time: int = Field(default=-1, sa_column=Column(BigInteger, server_default=text("-1")))
    remain_quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    unlimited_quota: bool = Field(default=False, sa_column=Column(Boolean, server_default=text("false")))
    used_quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    models: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subnet: str | None = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    rpm_limit: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    tpm_limit: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    concurrency_limit: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))

    @property
    def display_key(self) -> str:
        return f"sk-{self.key}"
