"""Keyword search of the admin lists: a prefix match on text columns (LIKE, its wildcards escaped), or the row
id when the keyword is a number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col


def starts_with(column: Any, keyword: str) -> ColumnElement[bool]:
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return col(column).like(escaped, escape="\\")


def keyword_filter(keyword: str, id_column: Any, *text_columns: Any) -> ColumnElement[bool]:
    keyword = keyword.strip()
    conditions = [starts_with(column, keyword) for column in text_columns]
    if keyword.isdigit() and len(keyword) < 16:
        conditions.append(col(id_column) == int(keyword))
    return or_(*conditions)
