"""options: admin-editable runtime settings as key/value strings (typed view in services/options.py)."""

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from .types import IndexedStr, LongText


class Option(SQLModel, table=True):
    __tablename__ = "options"

    key: str = Field(sa_column=Column(IndexedStr, primary_key=True, autoincrement=False))
    value: str = Field(default="", sa_column=Column(LongText))
