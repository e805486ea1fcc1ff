"""The ledger's crash journal (not one-api tables): quota held by in-flight requests, and who holds it.

``ledger_holds``: one row per reservation of a running request, written in the reservation's transaction and
deleted in its settlement's transaction. ``ledger_instances``: one row per running process (its heartbeat),
so a start-up can tell holds of dead processes from holds of live ones (services/ledger/recovery.py).
"""

from sqlalchemy import BigInteger, Boolean, Column, String, text
from sqlmodel import Field, SQLModel


class LedgerHold(SQLModel, table=True):
    __tablename__ = "ledger_holds"
    __table_args__ = {"sqlite_with_rowid": False}  # one B-tree: a hold dirties one page less per reservation

    instance: str = Field(sa_column=Column(String(32), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    token_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    unlimited: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    request_id: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=text("''")))
    created_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LedgerInstance(SQLModel, table=True):
    __tablename__ = "ledger_instances"

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    node: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=text("''")))
    started_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    heartbeat: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
