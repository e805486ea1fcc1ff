"""Column types that reproduce the schema one-api's GORM creates on SQLite, MySQL and PostgreSQL.

GORM maps Go ``int``/``int64`` to BIGINT, an indexed or defaulted string to VARCHAR(191) on MySQL (TEXT
elsewhere) and any other string to LONGTEXT on MySQL (TEXT elsewhere).
"""

import time

from sqlalchemy import BigInteger, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

BigInt = BigInteger().with_variant(Integer(), "sqlite")
IndexedStr = Text().with_variant(String(191), "mysql", "mariadb")
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def now() -> int:
    """Unix seconds, as one-api stores every timestamp."""
    return int(time.time())


def table_of(model: type) -> Table:
    """The Core table of a table model, for Core statements (SQLModel's types do not declare ``__table__``)."""
    return model.__table__  # type: ignore[attr-defined]
