"""abilities: one row per (group, model, channel), derived from channels; what channel choice reads."""

from sqlalchemy import BigInteger, Boolean, Column, Index, String, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr


class Ability(SQLModel, table=True):
    __tablename__ = "abilities"
    __table_args__ = (
        Index("idx_abilities_channel_id", "channel_id"),
        Index("idx_abilities_priority", "priority"),
    )

    group: str = Field(sa_column=Column(String(32), primary_key=True, autoincrement=False))
    model: str = Field(sa_column=Column(IndexedStr, primary_key=True, autoincrement=False))
    channel_id: int = Field(sa_column=Column(BigInt, primary_key=True, autoincrement=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean))
    priority: int | None = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
