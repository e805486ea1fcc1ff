"""locks: leases of the periodic jobs that must run on one node at a time (oneapi_app/locks.py uses this table
only when several nodes share an SQL database without Redis). Not a one-api table."""

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel


class Lock(SQLModel, table=True):
    __tablename__ = "locks"

    name: str = Field(sa_column=Column(String(128), primary_key=True))
    holder: str = Field(default="", sa_column=Column(String(64), nullable=False))
    expires_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # unix milliseconds
