"""Shared fixtures: real databases (SQLite file, PostgreSQL, MariaDB), a started Runtime, an HTTP client.

PostgreSQL (127.0.0.1:5432, trust, database ``test``) and MariaDB (127.0.0.1:3306, root, database ``test``)
run on every machine here and in CI. Each test gets its own freshly created database on them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from oneapi_app.settings import Settings, load_settings

PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN = os.environ.get("TEST_MYSQL_ADMIN", "mysql+pymysql://root@127.0.0.1:3306/test")


def _fresh_postgres() -> Iterator[str]:
    name = f"oneapi_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_mysql() -> Iterator[str]:
    name = f"oneapi_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(MYSQL_ADMIN)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        # one-api's Go DSN form, as users write it.
        yield f"root@tcp(127.0.0.1:3306)/{name}?charset=utf8mb4&parseTime=True&loc=Local"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    yield from _fresh_postgres()


@pytest.fixture
def mysql_dsn() -> Iterator[str]:
    yield from _fresh_mysql()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def any_dsn(request, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, as an SQL_DSN value ('' = SQLite in the data dir)."""
    if request.param == "sqlite":
        yield ""
    elif request.param == "postgresql":
        yield from _fresh_postgres()
    else:
        yield from _fresh_mysql()


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**env: str) -> Settings:
        base = {"DATA_DIR": str(tmp_path / "data")}
        base.update({k: v for k, v in env.items()})
        return load_settings(base)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator:
    from oneapi_app.runtime import Runtime

    rt = Runtime(settings)
    async with rt.lifespan():
        yield rt


@pytest.fixture
async def client(runtime) -> AsyncIterator[httpx.AsyncClient]:
    from oneapi_app.api import create_app

    api = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://testserver") as c:
        yield c
