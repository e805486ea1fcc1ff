"""redemptions: top-up codes. Status 1 unused / 2 disabled / 3 used."""

from enum import IntEnum

from sqlalchemy import CHAR, BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr


class RedemptionStatus(IntEnum):
    UNUSED = 1
    DISABLED = 2
    USED = 3


class Redemption(SQLModel, table=True):
    __tablename__ = "redemptions"
    __table_args__ = (
        Index("idx_redemptions_key", "key", unique=True),
        Index("idx_redemptions_name", "name"),
        {"sqlite_autoincrement": True},
    )

    id: int = Field(default=None, sa_column=Column(BigInt, primary_key=True, autoincrement=True))  # None until INSERT
    user_id: int = Field(default=0, sa_column=Column(BigInteger))
    key: str = Field(sa_column=Column(CHAR(32)))
    status: int = Field(default=RedemptionStatus.UNUSED, sa_column=Column(BigInteger, server_default=text("1")))
    name: str = Field(default="", sa_column=Column(IndexedStr))
    quota: int = Field(default=100, sa_column=Column(BigInteger, server_default=text("100")))
    created_time: int = Field(default=0, sa_column=Column(BigInteger))
    redeemed_time: int = Field(default=0, sa_column=Column(BigInteger))
