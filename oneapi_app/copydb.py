"""``oneapi copy-db``: move an install into another database (PostgreSQL or MySQL/MariaDB), ids kept.

The source is this project's database or one-api's own (SQLite usually): the current settings (SQL_DSN,
LOG_SQL_DSN) or ``--from``. The target must be empty; it is first brought to the latest schema by the same
code as ``oneapi migrate``, then every table of the schema is copied in primary-key order, in batches (the
source is streamed, never loaded whole), in one transaction per target database, so a failed copy leaves the
target empty again. Values are converted to the target's column types (SQLite's 0/1 or "true" booleans, JSON
text, integers stored as text); sequences (PostgreSQL) and AUTO_INCREMENT (MySQL) continue after the highest
copied id. Tables and columns the schema does not know are reported and skipped. The source is opened
read-only where the driver allows it (SQLite) and is never written.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    Table,
    column,
    create_engine,
    func,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError

from . import models
from .db import create_sync_db_engine
from .migrations import migrate, tables_for
from .settings import DatabaseURL, Settings, SettingsError, parse_dsn

BATCH_SIZE = 2000
# Tables of a source that are bookkeeping, not data: never copied, never reported.
_INTERNAL = {"alembic_version", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}


class CopyError(Exception):
    """A refusal or failure, as one line for the command line."""


@dataclass
class TableCopy:
    name: str
    rows: int = 0
    batches: int = 0
    in_source: bool = True
    defaulted: list[str] = field(default_factory=list)  # target columns the source lacks: left at their default


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "table x", "column t.c" of the source, with the reason
    migrations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def summary(self) -> list[str]:
        width = max(len(t.name) for t in self.tables) if self.tables else 0
        lines = [f"{t.name:<{width}} {t.rows:>12,} rows" + ("" if t.in_source else "  (not in the source)")
                 for t in self.tables]
        defaulted = [f"{t.name}.{c}" for t in self.tables for c in t.defaulted]
        if defaulted:
            lines.append("left at their defaults (not in the source): " + ", ".join(defaulted))
        lines += [f"skipped {what}" for what in self.skipped]
        lines.append(f"copied {self.rows:,} rows in {self.seconds:.1f} s")
        return lines


# --- where from, where to ------------------------------------------------------------------------------------

def _parse(value: str, settings: Settings, name: str, *, path_ok: bool) -> DatabaseURL:
    """A DSN in SQL_DSN's forms, or (for a source) the path of an SQLite file."""
    value = value.strip()
    if not value:
        raise CopyError(f"{name}: empty")
    looks_like_dsn = "://" in value or value.startswith("sqlite:") or "@" in value
    if path_ok and not looks_like_dsn:
        value = "sqlite:///" + str(Path(value).expanduser().resolve())
    try:
        return parse_dsn(value, sqlite_path=settings.sqlite_path, busy_timeout=settings.sqlite_busy_timeout, name=name)
    except SettingsError as exc:
        raise CopyError(str(exc)) from None


def _sqlite_file(url: DatabaseURL) -> Path:
    return Path(url.sync_url.removeprefix("sqlite:///"))


def _open_source(url: DatabaseURL, settings: Settings) -> Engine:
    """The source, read-only for SQLite (a missing file is an error, not a new empty database)."""
    if url.kind != "sqlite":
        return create_engine(url.sync_url, pool_pre_ping=True)
    path = _sqlite_file(url)
    if not path.is_file():
        raise CopyError(f"no SQLite database at {path}")
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                         connect_args={"timeout": settings.sqlite_busy_timeout / 1000})


def _same(a: DatabaseURL, b: DatabaseURL) -> bool:
    if a.kind == b.kind == "sqlite":
        return _sqlite_file(a).resolve() == _sqlite_file(b).resolve()
    return a.sync_url == b.sync_url


# --- value conversion ----------------------------------------------------------------------------------------

_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off", ""}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value != 0
    if isinstance(value, (bytes, bytearray)):  # MySQL BIT(1)
        return any(value)
    word = str(value).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError("not a boolean")


def _to_int(value: Any) -> int:
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, (float, Decimal)):
        if value != int(value):
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    word = str(value).strip()
    try:
        return int(word)
    except ValueError:
        pass
    try:
        return _to_int(Decimal(word))
    except ArithmeticError:
        raise ValueError("not a whole number") from None


def _to_float(value: Any) -> float:
    return float(value.decode() if isinstance(value, (bytes, bytearray)) else value)


def _to_json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def _text_converter(target: str) -> Callable[[Any], str]:
    strip_nul = target == "postgresql"  # PostgreSQL's text cannot hold NUL characters

    def to_text(value: Any) -> str:
        if isinstance(value, (bytes, bytearray)):
            value = value.decode()
        elif not isinstance(value, str):
            value = str(value)
        return value.replace("\x00", "") if strip_nul else value

    return to_text


def _converter(col_type: Any, target: str) -> Callable[[Any], Any]:
    """The function turning a raw source value into what the target column takes (None stays None)."""
    if isinstance(col_type, Boolean):
        return _to_bool
    if isinstance(col_type, Integer):
        return _to_int
    if isinstance(col_type, Float):
        return _to_float
    if isinstance(col_type, JSON):
        return _to_json
    if isinstance(col_type, String):
        return _text_converter(target)
    return lambda value: value


# --- the copy --------------------------------------------------------------------------------------------------

@dataclass
class _Side:
    """One database of the source or the target, with the tables it holds."""

    url: DatabaseURL
    engine: Engine
    tables: tuple[str, ...]


def _row_counts(conn: Connection, names: tuple[str, ...]) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    counts = {}
    for name in names:
        if name in present:
            n = conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            if n:
                counts[name] = n
    return counts


def _refuse_non_empty(targets: list[_Side]) -> None:
    for side in targets:
        with side.engine.connect() as conn:
            counts = _row_counts(conn, side.tables)
        if counts:
            rows = ", ".join(f"{name}: {n} rows" for name, n in counts.items())
            raise CopyError(f"the target {side.url.display} is not empty ({rows}); copy into a new, empty database")


def _stream(conn: Connection, name: str, columns: list[str], order: list[str], batch: int) -> Iterator[list[tuple]]:
    """The source rows in primary-key order, ``batch`` at a time (a server-side cursor where there is one)."""
    source = table(name, *(column(c) for c in columns))
    query = select(*source.c).order_by(*(source.c[c] for c in order))
    result = conn.execution_options(yield_per=batch).execute(query)
    for part in result.partitions(batch):
        yield [tuple(row) for row in part]


def _copy_table(src: Connection, dst: Connection, target: Table, batch: int, report: CopyReport) -> TableCopy:
    done = TableCopy(target.name)
    inspector = inspect(src)
    if not inspector.has_table(target.name):
        done.in_source = False
        return done
    present = [c["name"] for c in inspector.get_columns(target.name)]
    known = set(target.columns.keys())
    report.skipped += [f"column {target.name}.{c} (not in the schema)" for c in present if c not in known]
    columns = [c for c in target.columns if c.name in present]
    done.defaulted = [c.name for c in target.columns if c.name not in present]
    if not columns:
        done.in_source = False
        return done
    order = [c.name for c in target.primary_key.columns if c.name in present] or [columns[0].name]
    kind = dst.dialect.name if dst.dialect.name != "mariadb" else "mysql"
    convert = [_converter(c.type, kind) for c in columns]
    names = [c.name for c in columns]
    for rows in _stream(src, target.name, names, order, batch):
        values = [_convert_row(target.name, names, convert, row, order) for row in rows]
        dst.execute(target.insert(), values)
        done.rows += len(values)
        done.batches += 1
    return done


def _convert_row(name: str, columns: list[str], convert: list[Callable[[Any], Any]], row: tuple,
                 order: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for col, to_target, value in zip(columns, convert, row, strict=True):
        try:
            values[col] = None if value is None else to_target(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            key = {c: row[columns.index(c)] for c in order}
            raise CopyError(f"{name}.{col}: cannot convert {value!r} ({exc}) in the row {key}") from None
    return values


def _continue_ids(dst: Connection, target: Table) -> None:
    """Make the next generated id follow the highest copied one (PostgreSQL sequences, MySQL AUTO_INCREMENT)."""
    id_col = target.autoincrement_column
    if id_col is None:
        return
    quote = dst.dialect.identifier_preparer.quote
    t, c = quote(target.name), quote(id_col.name)
    if dst.dialect.name == "postgresql":
        dst.execute(text(f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({c}), 1), MAX({c}) IS NOT NULL)"
                         f" FROM {t}"), {"t": t, "c": id_col.name})
    elif dst.dialect.name in ("mysql", "mariadb"):
        top = dst.execute(text(f"SELECT MAX({c}) FROM {t}")).scalar()
        dst.execute(text(f"ALTER TABLE {t} AUTO_INCREMENT = {int(top or 0) + 1}"))
    # SQLite keeps sqlite_sequence up to date by itself.


def copy_database(settings: Settings, to: str, *, to_log: str = "", source: str = "", source_log: str = "",
                  batch_size: int = BATCH_SIZE, echo: Callable[[str], None] = lambda _line: None) -> CopyReport:
    """Copy the install described by ``settings`` (or ``source``/``source_log``) into the empty database ``to``
    (logs into ``to_log`` when given). Raises CopyError with one line when refusing or failing."""
    started = time.monotonic()
    if source:
        src_main = _parse(source, settings, "--from", path_ok=True)
        src_log = _parse(source_log, settings, "--log-from", path_ok=True) if source_log else None
    else:
        src_main, src_log = settings.database, settings.log_database
    dst_main = _parse(to, settings, "--to", path_ok=False)
    dst_log = _parse(to_log, settings, "--log-to", path_ok=False) if to_log else None
    for target_url in (dst_main, dst_log):
        for source_url in (src_main, src_log):
            if target_url is not None and source_url is not None and _same(source_url, target_url):
                raise CopyError(f"the target {target_url.display} is the source itself")

    with ExitStack() as stack:
        def side(url: DatabaseURL, engine: Engine, tables: tuple[str, ...]) -> _Side:
            stack.callback(engine.dispose)
            return _Side(url, engine, tables)

        logs, main = models.LOG_TABLES, tuple(t for t in tables_for("both") if t not in models.LOG_TABLES)
        sources = [side(src_main, _open_source(src_main, settings), main if src_log else main + logs)]
        if src_log:
            sources.append(side(src_log, _open_source(src_log, settings), logs))
        targets = [side(dst_main, create_sync_db_engine(dst_main, settings), main if dst_log else main + logs)]
        if dst_log:
            targets.append(side(dst_log, create_sync_db_engine(dst_log, settings), logs))
        report = CopyReport(" + ".join(s.url.display for s in sources), " + ".join(t.url.display for t in targets))
        with _database_errors("reading the source", src_main):
            with sources[0].engine.connect() as conn:
                if not inspect(conn).has_table("users"):
                    raise CopyError(f"the source {src_main.display} holds no One API database (no users table)")
            _report_unknown_tables(sources, report)
        with _database_errors("preparing the target", dst_main):
            _refuse_non_empty(targets)
            target_settings = dataclasses.replace(settings, sql_dsn=to, log_sql_dsn=to_log, node_type="master")
            report.migrations = [str(r) for r in migrate(target_settings)]
        for line in report.migrations:
            echo(f"migrated {line}")
        for target in targets:
            _copy_into(target, sources, batch_size, report, echo)
    report.seconds = time.monotonic() - started
    return report


def _copy_into(target: _Side, sources: list[_Side], batch_size: int, report: CopyReport,
               echo: Callable[[str], None]) -> None:
    """Every table of ``target`` from the source that holds it, in one transaction; then the id counters."""
    tables = [models.metadata.tables[name] for name in target.tables]
    dialect = target.engine.dialect.name
    with target.engine.begin() as dst, ExitStack() as reading:
        readers = {id(s): reading.enter_context(s.engine.connect()) for s in sources}
        for t in tables:
            src = next(s for s in sources if t.name in s.tables)
            echo(f"copying {t.name}...")
            with _database_errors(f"copying {t.name} into", target.url, "; nothing was copied into it"):
                report.tables.append(_copy_table(readers[id(src)], dst, t, batch_size, report))
        if dialect == "postgresql":
            for t in tables:
                _continue_ids(dst, t)
    if dialect in ("mysql", "mariadb"):  # ALTER TABLE commits by itself: after the copy's commit
        with _database_errors("setting AUTO_INCREMENT in", target.url), target.engine.begin() as dst:
            for t in tables:
                _continue_ids(dst, t)


@contextmanager
def _database_errors(doing: str, url: DatabaseURL, then: str = "") -> Iterator[None]:
    """A database's own error (unreachable, refused, a value too long...) as one line naming the database."""
    try:
        yield
    except DBAPIError as exc:
        lines = str(exc.orig or exc).strip().splitlines()
        raise CopyError(f"{doing} {url.display} failed: {lines[0] if lines else type(exc).__name__}{then}") from None


def _report_unknown_tables(sources: list[_Side], report: CopyReport) -> None:
    for side in sources:
        with side.engine.connect() as conn:
            present = inspect(conn).get_table_names()
            for name in present:
                if name in _INTERNAL or name.startswith("sqlite_") or name in side.tables:
                    continue
                if name in models.metadata.tables:  # e.g. an unused logs table beside LOG_SQL_DSN
                    rows = _row_counts(conn, (name,)).get(name, 0)
                    if rows:
                        report.skipped.append(f"table {name} of {side.url.display} ({rows} rows; read from the "
                                              "other source database)")
                    continue
                report.skipped.append(f"table {name} (not in the schema)")
