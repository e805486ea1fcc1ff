"""`oneapi copy-db`: an SQLite install (this project's, or one-api's own file) moved into PostgreSQL and MariaDB
with every row and id, the sequences continuing after the copied ids, the app working on the copy."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlmodel import select as sm_select

from oneapi_app import models
from oneapi_app.auth.passwords import hash_password, verify_password
from oneapi_app.cli import main
from oneapi_app.copydb import CopyError, _to_bool, _to_int, _to_json, copy_database
from oneapi_app.db import create_sync_db_engine
from oneapi_app.migrations import tables_for
from oneapi_app.models import Ability, Channel, Log, Option, Redemption, Token, User
from oneapi_app.runtime import Runtime

from .test_migrations import _build_one_api_db

OLD_PASSWORD = "old-root-pass-1"
LOGS = 25  # copied in batches of 10: three batches
UNICODE = "倍率：2.50 × 1.00 — ok ✓ 🚀"
# Rows for tables newer than one-api's own, inserted when the schema has them (Core, no model import needed).
EXTRA_ROWS = {
    "ledger_instances": [{"id": "a" * 32, "node": "nas", "started_at": 1700000000, "heartbeat": 1700000100}],
    "ledger_holds": [{"instance": "a" * 32, "seq": 1, "token_id": 2, "user_id": 2, "unlimited": False, "amount": 300,
                      "request_id": "req-1", "created_at": 1700000050}],
    "locks": [{"name": "period:channel-test-all", "holder": "marker", "expires_at": 1700000000000}],
    "responses": [{"id": "resp_1", "user_id": 7, "token_id": 5, "model": "gpt-4o", "created_at": 1700000060,
                   "input": '[{"role": "user", "content": "hi"}]', "response": '{"id": "resp_1"}'}],
}


@pytest.fixture(params=["postgresql", "mysql"])
def target_dsn(request) -> str:
    return request.getfixturevalue("postgres_dsn" if request.param == "postgresql" else "mysql_dsn")


async def _populate(settings) -> None:
    """This project's SQLite database with rows in every table (the runtime creates root and the schema)."""
    rt = Runtime(settings)
    async with rt.lifespan():
        async with rt.db.session() as s:
            root = (await s.exec(sm_select(User).where(User.username == "root"))).one()
            root.password = hash_password(OLD_PASSWORD)
            s.add(root)
            s.add(User(id=7, username="bob", password=hash_password("bob-pass-12"), display_name="Bob 🚀", group="vip",
                       quota=10**15, status=2, aff_code="bob1", inviter_id=1, email="", access_token="b" * 32))
            s.add(Token(id=5, user_id=7, key="k" * 48, name="ci", models="", unlimited_quota=True, remain_quota=0))
            s.add(Token(id=9, user_id=7, key="m" * 48, name="ro", models=None, subnet="10.0.0.0/8", expired_time=1,
                        remain_quota=1234, used_quota=55, status=3))
            s.add(Channel(id=3, type=1, key="sk-up\nsk-up2", name="openai", models="gpt-4o,gpt-4o-mini",
                          group="default,vip", model_mapping='{"gpt-4": "gpt-4o"}', config='{"region": "eu"}',
                          balance=12.625, priority=-2, system_prompt=None))
            s.add(Ability(group="default", model="gpt-4o", channel_id=3, enabled=True, priority=-2))
            s.add(Ability(group="vip", model="gpt-4o-mini", channel_id=3, enabled=False, priority=0))
            s.add(Redemption(id=4, user_id=7, key="r" * 32, name="gift", quota=100000, status=3, redeemed_time=17))
            s.add(Option(key="ModelRatio", value='{"gpt-4o": 2.5, "x": 0.001}'))
            s.add(Option(key="Notice", value=UNICODE))
            await s.commit()
        async with rt.db.log_session() as s:
            for i in range(1, LOGS + 1):
                s.add(Log(id=i * 2, user_id=7, created_at=1700000000 + i, type=2, content=f"{UNICODE} #{i}",
                          username="bob", token_name="ci", model_name="gpt-4o", quota=i, prompt_tokens=i,
                          completion_tokens=1, channel_id=3, request_id=f"r{i}", elapsed_time=10,
                          is_stream=i % 2 == 0, system_prompt_reset=i % 3 == 0))
            await s.commit()
    engine = create_sync_db_engine(settings.database, settings)
    try:
        with engine.begin() as conn:
            for name, rows in EXTRA_ROWS.items():
                if name in models.metadata.tables:
                    conn.execute(insert(models.metadata.tables[name]), rows)
    finally:
        engine.dispose()


def _dump(settings) -> dict[str, list[dict]]:
    """Every row of every table, through the models' column types, in primary-key order."""
    out: dict[str, list[dict]] = {}
    for url, names in ((settings.database, tables_for("main")), (settings.log_database or settings.database,
                                                                 tables_for("log"))):
        engine = create_sync_db_engine(url, settings)
        try:
            with engine.connect() as conn:
                for name in names:
                    t = models.metadata.tables[name]
                    rows = conn.execute(select(t).order_by(*t.primary_key.columns)).mappings().all()
                    out[name] = [dict(r) for r in rows]
        finally:
            engine.dispose()
    return out


@pytest.fixture
async def sqlite_install(make_settings):
    settings = make_settings()
    await _populate(settings)
    return settings


async def test_copy_to_postgres_and_mariadb_keeps_every_row_and_id(sqlite_install, make_settings, target_dsn):
    source = _dump(sqlite_install)
    assert all(source[name] for name in tables_for("both")), "the source must have rows in every table"

    report = copy_database(sqlite_install, target_dsn, batch_size=10)

    target_settings = make_settings(SQL_DSN=target_dsn)
    assert _dump(target_settings) == source  # every value, every id
    copied = {t.name: t for t in report.tables}
    assert {name: t.rows for name, t in copied.items()} == {name: len(rows) for name, rows in source.items()}
    assert copied["logs"].batches == math.ceil(LOGS / 10)  # streamed in batches, not in one piece
    assert not report.skipped and not any(t.defaulted for t in report.tables)
    assert ["logs", str(LOGS), "rows"] in [line.split() for line in report.summary()]

    # The app starts on the copy: the old password works, new rows get the next ids.
    rt = Runtime(target_settings)
    async with rt.lifespan():
        from oneapi_app.api import create_app

        app = create_app(rt)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
            r = await client.post("/api/user/login", json={"username": "root", "password": OLD_PASSWORD})
            assert r.json()["success"], r.json()
            r = await client.post("/api/token/", json={"name": "after", "remain_quota": 1, "expired_time": -1})
            assert r.json()["success"], r.json()
            r = await client.post("/api/user/", json={"username": "carol", "password": "carol-pass-1"})
            assert r.json()["success"], r.json()
        async with rt.db.session() as s:
            assert (await s.exec(sm_select(Token).where(Token.name == "after"))).one().id == 10
            carol = (await s.exec(sm_select(User).where(User.username == "carol"))).one()
            assert carol.id == 8
            bob = (await s.exec(sm_select(User).where(User.username == "bob"))).one()
            assert verify_password("bob-pass-12", bob.password) and bob.display_name == "Bob 🚀"
        async with rt.db.log_session() as s:
            top = (await s.exec(sm_select(func.max(Log.id)))).one()  # the start may have logged (e.g. recoveries)
            log = Log(user_id=1, created_at=1, type=4, content="after the move")
            s.add(log)
            await s.commit()
            assert top >= LOGS * 2 and log.id == top + 1


def _one_api_file(path: Path) -> None:
    """one-api's own SQLite file, plus what a newer fork may have: an unknown table and column, and values
    stored in SQLite's loose ways (booleans as text, a number as text)."""
    _build_one_api_db(path)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE midjourneys (id integer primary key, task text)")
    con.execute("INSERT INTO midjourneys VALUES (1, 'x')")
    con.execute("ALTER TABLE users ADD COLUMN nickname text")
    con.execute("INSERT INTO abilities VALUES ('vip','gpt-4o',1,'false',10)")
    con.execute("UPDATE logs SET is_stream = 'true', quota = '150'")
    con.commit()
    con.close()


async def test_copy_of_a_one_api_sqlite_file(make_settings, target_dsn, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    db_file = tmp_path / "legacy" / "one-api.db"
    db_file.parent.mkdir()
    _one_api_file(db_file)
    before = db_file.read_bytes()

    # `--from` a path; the current settings (an unrelated empty data dir) are not read for the source
    assert main(["copy-db", "--from", str(db_file), "--to", target_dsn]) == 0
    out = capsys.readouterr().out
    assert "users" in out and "copied 13 rows" in out
    assert "skipped table midjourneys (not in the schema)" in out
    assert "skipped column users.nickname (not in the schema)" in out
    assert "users.lark_id" in out  # older one-api: columns left at their defaults
    assert db_file.read_bytes() == before  # the source is not touched

    settings = make_settings(SQL_DSN=target_dsn)
    engine = create_sync_db_engine(settings.database, settings)
    try:
        with engine.connect() as conn:
            assert "midjourneys" not in inspect(conn).get_table_names()
            abilities = conn.execute(select(Ability.__table__).order_by(text("`group`" if "mysql" in
                                                                             conn.dialect.name else '"group"')))
            assert [(a.group, a.enabled) for a in abilities] == [("default", True), ("vip", False)]
            log = conn.execute(select(Log.__table__)).one()
            assert (log.is_stream, log.quota, log.content) == (True, 150, "倍率：2.50 × 1.00 × 4.00")
            channel = conn.execute(select(Channel.__table__)).one()
            assert (channel.model_mapping, channel.balance, channel.config) == ('{"gpt-4":"gpt-4o"}', 12.5, None)
            assert conn.execute(select(Token.__table__.c.unlimited_quota).order_by(text("id"))).scalars().all() == [
                True, False]
    finally:
        engine.dispose()

    rt = Runtime(settings)
    async with rt.lifespan(), rt.db.session() as s:
        root, bob = (await s.exec(sm_select(User).order_by(User.id))).all()
        assert verify_password("s3cret-pass", root.password) and verify_password("bobpass12", bob.password)
        assert rt.options.SystemName == "My Gateway"
        s.add(Redemption(key="n" * 32, name="new"))
        await s.commit()
        assert (await s.exec(sm_select(Redemption).where(Redemption.name == "new"))).one().id == 2


async def test_non_empty_target_is_refused(sqlite_install, make_settings, postgres_dsn, capsys, monkeypatch):
    copy_database(sqlite_install, postgres_dsn)
    target = make_settings(SQL_DSN=postgres_dsn)
    copied = _dump(target)

    monkeypatch.setenv("DATA_DIR", str(sqlite_install.data_dir))
    assert main(["copy-db", "--to", postgres_dsn]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("oneapi copy-db: the target postgresql://") and "not empty" in err[0]
    assert "users: 2 rows" in err[0]
    assert _dump(target) == copied  # nothing added


def test_refusals_are_one_line(sqlite_install, tmp_path: Path):
    with pytest.raises(CopyError, match="is the source itself"):
        copy_database(sqlite_install, f"sqlite:///{sqlite_install.sqlite_path}")
    with pytest.raises(CopyError, match="no SQLite database at"):
        copy_database(sqlite_install, "postgres://postgres@127.0.0.1:5432/test", source=str(tmp_path / "nope.db"))
    with pytest.raises(CopyError, match="--to: cannot parse"):
        copy_database(sqlite_install, "not a dsn")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(CopyError, match="holds no One API database"):
        copy_database(sqlite_install, "postgres://postgres@127.0.0.1:5432/test", source=str(empty))


def test_a_failed_copy_leaves_the_target_empty(sqlite_install, make_settings, postgres_dsn):
    """One transaction per target: a row the target cannot take rolls everything back, and a second run (after the
    row is fixed) goes through."""
    target = make_settings(SQL_DSN=postgres_dsn)
    con = sqlite3.connect(sqlite_install.sqlite_path)
    con.execute("UPDATE tokens SET key = ? WHERE id = 9", ("z" * 60,))  # SQLite takes it, CHAR(48) does not
    con.commit()
    with pytest.raises(CopyError, match=r"^copying tokens into postgresql://\S+ failed: value too long.*nothing was"):
        copy_database(sqlite_install, postgres_dsn)
    assert not any(_dump(target).values())
    con.execute("UPDATE tokens SET key = ? WHERE id = 9", ("z" * 48,))
    con.execute("UPDATE abilities SET enabled = 'maybe' WHERE \"group\" = 'vip'")
    con.commit()
    with pytest.raises(CopyError, match=r"^abilities.enabled: cannot convert 'maybe' \(not a boolean\) in the row"):
        copy_database(sqlite_install, postgres_dsn)
    assert not any(_dump(target).values())
    con.execute("UPDATE abilities SET enabled = 0 WHERE \"group\" = 'vip'")
    con.commit()
    con.close()
    copy_database(sqlite_install, postgres_dsn)
    assert _dump(target) == _dump(sqlite_install)


async def test_logs_come_from_the_log_database(make_settings, postgres_dsn, mysql_dsn, tmp_path: Path):
    """LOG_SQL_DSN: the source's logs are read from the log database; --log-to puts them in their own target."""
    settings = make_settings(LOG_SQL_DSN=f"sqlite:///{tmp_path / 'logs.db'}")
    await _populate(settings)
    source = _dump(settings)

    report = copy_database(settings, postgres_dsn, to_log=mysql_dsn, batch_size=7)
    assert {t.name: t.rows for t in report.tables}["logs"] == LOGS
    target = make_settings(SQL_DSN=postgres_dsn, LOG_SQL_DSN=mysql_dsn)
    assert _dump(target) == source
    engine = create_sync_db_engine(target.database, target)
    try:
        assert "logs" not in inspect(engine).get_table_names()  # the main target holds no logs table
    finally:
        engine.dispose()


def test_from_a_server_database(sqlite_install, make_settings, mysql_dsn, postgres_dsn):
    """`--from` a DSN: SQLite -> MariaDB -> PostgreSQL keeps every row (server-side cursors on both)."""
    copy_database(sqlite_install, mysql_dsn)
    report = copy_database(sqlite_install, postgres_dsn, source=mysql_dsn, batch_size=4)
    assert report.source.startswith("mysql://") and report.target.startswith("postgresql://")
    assert _dump(make_settings(SQL_DSN=postgres_dsn)) == _dump(sqlite_install)


def test_value_conversion():
    assert [_to_bool(v) for v in (1, 0, "1", "0", "true", "False", "t", "f", b"\x01", b"\x00", 2.0)] == [
        True, False, True, False, True, False, True, False, True, False, True]
    assert [_to_int(v) for v in (5, "42", " -1 ", 3.0, "1e3", True)] == [5, 42, -1, 3, 1000, 1]
    assert _to_json('{"a": [1, 2]}') == {"a": [1, 2]} and _to_json({"a": 1}) == {"a": 1}
    for bad, convert in (("maybe", _to_bool), ("abc", _to_int), (1.5, _to_int)):
        with pytest.raises(ValueError):
            convert(bad)
