"""Schema migrations: upgrade to head on a master node; adopt an existing one-api database.

An existing one-api database (its tables present, no ``alembic_version``) is adopted without touching its
rows: tables or columns that older one-api versions lacked are added, then it is stamped at the initial
revision and upgraded like any other database.

alembic (~9 MiB resident) is imported only when a database needs work: a database already at
``HEAD_REVISION`` is recognised with one query (tests check the constant against alembic's real head).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.schema import CreateColumn

from . import models
from .db import create_sync_db_engine
from .settings import DatabaseURL, Settings

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INITIAL_REVISION = "0001"
HEAD_REVISION = "0004"  # the head of alembic/versions: update it with every new revision


@dataclass
class MigrationReport:
    database: str
    role: str
    adopted: bool
    added: list[str]
    before: str | None
    after: str | None

    def __str__(self) -> str:
        what = "adopted an existing one-api database, " if self.adopted else ""
        extra = f" (added {', '.join(self.added)})" if self.added else ""
        return f"{self.database} [{self.role}]: {what}{self.before or 'empty'} -> {self.after}{extra}"


def alembic_config(connection: Connection, role: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["connection"] = connection
    cfg.attributes["role"] = role
    return cfg


def head_revision() -> str:
    """The head revision of alembic/versions, read by alembic (``HEAD_REVISION`` must equal it)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def _targets(settings: Settings) -> list[tuple[DatabaseURL, str]]:
    log_url = settings.log_database
    if log_url is None:
        return [(settings.database, "both")]
    return [(settings.database, "main"), (log_url, "log")]


def tables_for(role: str) -> tuple[str, ...]:
    return {"main": models.MAIN_TABLES, "log": models.LOG_TABLES}.get(role, models.MAIN_TABLES + models.LOG_TABLES)


def has_schema(settings: Settings) -> bool:
    """True when the main database holds One API's tables (what a slave node needs before it starts)."""
    engine = create_sync_db_engine(settings.database, settings)
    try:
        with engine.connect() as conn:
            return "users" in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def migrate(settings: Settings) -> list[MigrationReport]:
    """Bring every configured database to the head revision. Safe to run at every start."""
    reports = []
    for url, role in _targets(settings):
        engine = create_sync_db_engine(url, settings)
        try:
            with engine.begin() as conn:
                reports.append(_migrate_one(conn, url, role))
        finally:
            engine.dispose()
    return reports


def _current_revision(conn: Connection) -> str | None:
    """The revision stamped in ``alembic_version``; None when there is none or more than one (branches)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _migrate_one(conn: Connection, url: DatabaseURL, role: str) -> MigrationReport:
    if _current_revision(conn) == HEAD_REVISION:  # the usual start: nothing to do, alembic not imported
        return MigrationReport(url.display, role, False, [], HEAD_REVISION, HEAD_REVISION)
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config(conn, role)
    existing = set(inspect(conn).get_table_names())
    before = MigrationContext.configure(conn).get_current_revision()
    adopted, added = False, []
    if before is None and existing & set(tables_for(role)):
        adopted = True
        added = _adopt_legacy(conn, role, existing)
        command.stamp(cfg, INITIAL_REVISION)
        log.warning("adopted an existing one-api database at %s (rows untouched)", url.display)
    command.upgrade(cfg, "head")
    after = MigrationContext.configure(conn).get_current_revision()
    return MigrationReport(url.display, role, adopted, added, before, after)


def _adopt_legacy(conn: Connection, role: str, existing: set[str]) -> list[str]:
    """Add what older one-api versions lacked: missing tables and columns (never drops or alters)."""
    added: list[str] = []
    inspector = inspect(conn)
    for name in tables_for(role):
        if name in models.LEDGER_TABLES + models.RESPONSE_TABLES:  # created by their own revision after the stamp
            continue
        table = models.metadata.tables[name]
        if name not in existing:
            table.create(conn)
            added.append(name)
            continue
        present = {c["name"] for c in inspector.get_columns(name)}
        for column in table.columns:
            if column.name in present:
                continue
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            ddl_text = str(ddl).replace(" NOT NULL", "").replace(" AUTOINCREMENT", "")
            conn.execute(text(f"ALTER TABLE {conn.dialect.identifier_preparer.quote(name)} ADD COLUMN {ddl_text}"))
            added.append(f"{name}.{column.name}")
    return added
