"""channels: upstream provider keys. Status 0 unknown / 1 enabled / 2 manually disabled / 3 auto-disabled."""

from enum import IntEnum

from sqlalchemy import BigInteger, Column, Double, Index, String, Text, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr, LongText


class ChannelStatus(IntEnum):
    UNKNOWN = 0
    ENABLED = 1
    MANUALLY_DISABLED = 2
    AUTO_DISABLED = 3


class ChannelBase(SQLModel):
    type: int = 0
    name: str = ""
    weight: int | None = 0
    base_url: str | None = ""
    models: str = ""
    group: str = "default"
    model_mapping: str | None = ""
    priority: int | None = 0
    config: str = ""
    system_prompt: str | None = None


class Channel(ChannelBase, table=True):
    __tablename__ = "channels"
    __table_args__ = (Index("idx_channels_name", "name"), {"sqlite_autoincrement": True})

    id: int = Field(default=None, sa_column=Column(BigInt, primary_key=True, autoincrement=True))  # None until INSERT
    type: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    key: str = Field(default="", sa_column=Column(Text))
    status: int = Field(default=ChannelStatus.ENABLED, sa_column=Column(BigInteger, server_default=text("1")))
    name: str = Field(default="", sa_column=Column(IndexedStr))
    weight: int | None = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    created_time: int = Field(default=0, sa_column=Column(BigInteger))
    test_time: int = Field(default=0, sa_column=Column(BigInteger))
    response_time: int = Field(default=0, sa_column=Column(BigInteger))
    base_url: str | None = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    other: str | None = Field(default=None, sa_column=Column(LongText, nullable=True))
    balance: float = Field(default=0.0, sa_column=Column(Double))
    balance_updated_time: int = Field(default=0, sa_column=Column(BigInteger))
    models: str = Field(default="", sa_column=Column(LongText))
    group: str = Field(default="default", sa_column=Column(String(32), server_default=text("'default'")))
    used_quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    model_mapping: str | None = Field(default="", sa_column=Column(String(1024), server_default=text("''")))
    priority: int | None = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    config: str = Field(default="", sa_column=Column(LongText))
    system_prompt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
