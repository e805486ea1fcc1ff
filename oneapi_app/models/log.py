"""logs: top-up, consume, manage, system and test records (may live in a separate LOG_SQL_DSN database)."""

from enum import IntEnum

from sqlalchemy import BigInteger, Boolean, Column, Index, text
from sqlmodel import Field, SQLModel

from .types import BigInt, IndexedStr, LongText


class LogType(IntEnum):
    UNKNOWN = 0
    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    TEST = 5


class Log(SQLModel, table=True):
    __tablename__ = "logs"
    __table_args__ = (
        Index("idx_logs_user_id", "user_id"),
        Index("idx_created_at_type", "created_at", "type"),
        Index("idx_logs_token_name", "token_name"),
        Index("idx_logs_model_name", "model_name"),
        Index("index_username_model_name", "model_name", "username"),
        Index("idx_logs_channel_id", "channel_id"),
        {"sqlite_autoincrement": True},
    )

    id: int = Field(default=None, sa_column=Column(BigInt, primary_key=True, autoincrement=True))  # None until INSERT
    user_id: int = Field(default=0, sa_column=Column(BigInteger))
    created_at: int = Field(default=0, sa_column=Column(BigInteger))
    type: int = Field(default=0, sa_column=Column(BigInteger))
    content: str = Field(default="", sa_column=Column(LongText))
    username: str = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    token_name: str = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    model_name: str = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    quota: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    prompt_tokens: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    completion_tokens: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    channel_id: int = Field(default=0, sa_column=Column(BigInteger))
    request_id: str = Field(default="", sa_column=Column(IndexedStr, server_default=text("''")))
    elapsed_time: int = Field(default=0, sa_column=Column(BigInteger, server_default=text("0")))
    is_stream: bool = Field(default=False, sa_column=Column(Boolean, server_default=text("false")))
    system_prompt_reset: bool = Field(default=False, sa_column=Column(Boolean, server_default=text("false")))
