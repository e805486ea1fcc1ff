"""Database engines and sessions (SQLite WAL by default; PostgreSQL or MySQL via SQL_DSN). No queries here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from .settings import DatabaseURL, Settings

log = logging.getLogger(__name__)


def _sqlite_pragmas(busy_timeout_ms: int):
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _engine_kwargs(url: DatabaseURL, settings: Settings) -> dict:
    if url.kind == "sqlite":
        Path(url.sync_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # busy_timeout is set by PRAGMA; the driver-level timeout (seconds) matches it.
        return {"connect_args": {"timeout": settings.sqlite_busy_timeout / 1000}}
    pool_size = max(1, min(settings.sql_max_idle_conns, 10))
    max_open = max(pool_size, min(settings.sql_max_open_conns, 64))
    return {
        "pool_size": pool_size,
        "max_overflow": max_open - pool_size,
        "pool_recycle": settings.sql_max_lifetime or -1,
        "pool_pre_ping": True,
    }


def create_async_db_engine(url: DatabaseURL, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(url.async_url, echo=settings.debug_sql, **_engine_kwargs(url, settings))
    if url.kind == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout))
    return engine


def create_sync_db_engine(url: DatabaseURL, settings: Settings) -> Engine:
    """A synchronous engine, for migrations and the command line."""
    kwargs = _engine_kwargs(url, settings)
    if url.kind != "sqlite":
        kwargs = {"pool_pre_ping": True}
    engine = create_engine(url.sync_url, echo=settings.debug_sql, **kwargs)
    if url.kind == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout))
    return engine


@dataclass
class Database:
    """The main engine and, when LOG_SQL_DSN is set, a separate one for the logs table."""

    url: DatabaseURL
    engine: AsyncEngine
    log_engine: AsyncEngine
    _sessions: async_sessionmaker[AsyncSession] = field(init=False, repr=False)
    _log_sessions: async_sessionmaker[AsyncSession] = field(init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Database:
        url = settings.database
        engine = create_async_db_engine(url, settings)
        log_url = settings.log_database
        log_engine = create_async_db_engine(log_url, settings) if log_url else engine
        db = cls(url=url, engine=engine, log_engine=log_engine)
        db._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        db._log_sessions = async_sessionmaker(log_engine, class_=AsyncSession, expire_on_commit=False)
        return db

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def log_session(self) -> AsyncIterator[AsyncSession]:
        async with self._log_sessions() as session:
            yield session

    async def close(self) -> None:
        if self.log_engine is not self.engine:
            await self.log_engine.dispose()
        await self.engine.dispose()
