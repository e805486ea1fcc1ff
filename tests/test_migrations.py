"""Migrations on real SQLite, PostgreSQL and MariaDB, and adoption of an existing one-api database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import bcrypt
from sqlalchemy import inspect
from sqlmodel import select

from oneapi_app.auth.passwords import verify_password
from oneapi_app.db import Database, create_sync_db_engine
from oneapi_app.migrations import HEAD_REVISION, head_revision, migrate
from oneapi_app.models import Ability, Channel, Log, Option, Redemption, Token, User
from oneapi_app.services.options import load_options

EXPECTED = {
    "users": {"id", "username", "password", "display_name", "role", "status", "email", "github_id", "wechat_id",
              "lark_id", "oidc_id", "access_token", "quota", "used_quota", "request_count", "group", "aff_code",
              "inviter_id"},
    "tokens": {"id", "user_id", "key", "status", "name", "created_time", "accessed_time", "expired_time",
               "remain_quota", "unlimited_quota", "used_quota", "models", "subnet", "rpm_limit", "tpm_limit",
               "concurrency_limit"},
    "channels": {"id", "type", "key", "status", "name", "weight", "created_time", "test_time", "response_time",
                 "base_url", "other", "balance", "balance_updated_time", "models", "group", "used_quota",
                 "model_mapping", "priority", "config", "system_prompt"},
    "abilities": {"group", "model", "channel_id", "enabled", "priority"},
    "logs": {"id", "user_id", "created_at", "type", "content", "username", "token_name", "model_name", "quota",
             "prompt_tokens", "completion_tokens", "channel_id", "request_id", "elapsed_time", "is_stream",
             "system_prompt_reset"},
    "redemptions": {"id", "user_id", "key", "status", "name", "quota", "created_time", "redeemed_time"},
    "options": {"key", "value"},
    "ledger_holds": {"instance", "seq", "token_id", "user_id", "unlimited", "amount", "request_id", "created_at"},
    "ledger_instances": {"id", "node", "started_at", "heartbeat"},
    "responses": {"id", "user_id", "token_id", "model", "created_at", "input", "response"},
    "locks": {"name", "holder", "expires_at"},
}


def _columns(settings, url=None) -> dict[str, set[str]]:
    engine = create_sync_db_engine(url or settings.database, settings)
    try:
        insp = inspect(engine)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


def test_head_revision_constant_is_alembic_head():
    """HEAD_REVISION lets a start skip alembic: a new revision in alembic/versions must update it."""
    assert HEAD_REVISION == head_revision()


def test_upgrade_creates_one_api_schema_on_every_database(make_settings, any_dsn):
    settings = make_settings(SQL_DSN=any_dsn)
    [report] = migrate(settings)
    assert report.after == head_revision() and not report.adopted
    assert _columns(settings) == EXPECTED
    [again] = migrate(settings)  # idempotent: a second start changes nothing
    assert again.before == again.after == head_revision()


async def test_models_round_trip_on_every_database(make_settings, any_dsn):
    settings = make_settings(SQL_DSN=any_dsn)
    migrate(settings)
    db = Database.open(settings)
    try:
        async with db.session() as s:
            s.add(User(username="alice", password="x", group="vip", quota=10**15))
            s.add(Channel(type=1, key="sk-upstream", name="c1", models="gpt-4o,gpt-4o-mini", group="default,vip"))
            s.add(Ability(group="vip", model="gpt-4o", channel_id=1, enabled=True, priority=5))
            s.add(Token(user_id=1, key="k" * 48, name="t", models=None))
            s.add(Redemption(key="r" * 32, name="gift", quota=100))
            s.add(Option(key="Notice", value="hello"))
            await s.commit()
        async with db.log_session() as s:
            s.add(Log(user_id=1, created_at=1, type=2, content="x", channel_id=1, is_stream=True))
            await s.commit()
        async with db.session() as s:
            user = (await s.exec(select(User))).one()
            assert (user.group, user.quota, user.role, user.status) == ("vip", 10**15, 1, 1)
            token = (await s.exec(select(Token))).one()
            assert token.expired_time == -1 and token.unlimited_quota is False and token.subnet == ""
            assert (await s.exec(select(Ability))).one().priority == 5
            assert (await load_options(s)).Notice == "hello"
        async with db.log_session() as s:
            assert (await s.exec(select(Log))).one().is_stream is True
    finally:
        await db.close()


def test_separate_log_database(make_settings, postgres_dsn, tmp_path: Path):
    settings = make_settings(SQL_DSN="", LOG_SQL_DSN=postgres_dsn)
    reports = migrate(settings)
    assert [r.role for r in reports] == ["main", "log"]
    assert set(_columns(settings)) == set(EXPECTED) - {"logs"}
    assert set(_columns(settings, settings.log_database)) == {"logs"}


# --- an existing one-api database ------------------------------------------------------------------

# The DDL one-api (GORM, SQLite) creates, as an older release had it: users without lark_id/oidc_id and
# channels without config/system_prompt, so adoption must add those columns.
ONE_API_SQLITE = """
CREATE TABLE `users` (`id` integer,`username` text UNIQUE,`password` text NOT NULL,`display_name` text,
 `role` integer DEFAULT 1,`status` integer DEFAULT 1,`email` text,`github_id` text,`wechat_id` text,
 `access_token` char(32),`quota` integer DEFAULT 0,`used_quota` integer DEFAULT 0,`request_count` integer DEFAULT 0,
 `group` varchar(32) DEFAULT 'default',`aff_code` varchar(32),`inviter_id` integer,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_users_access_token` ON `users`(`access_token`);
CREATE UNIQUE INDEX `idx_users_aff_code` ON `users`(`aff_code`);
CREATE TABLE `tokens` (`id` integer,`user_id` integer,`key` char(48),`status` integer DEFAULT 1,`name` text,
 `created_time` integer,`accessed_time` integer,`expired_time` integer DEFAULT -1,`remain_quota` integer DEFAULT 0,
 `unlimited_quota` numeric DEFAULT false,`used_quota` integer DEFAULT 0,`models` text,`subnet` text DEFAULT '',
 PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_tokens_key` ON `tokens`(`key`);
CREATE TABLE `channels` (`id` integer,`type` integer DEFAULT 0,`key` text,`status` integer DEFAULT 1,`name` text,
 `weight` integer DEFAULT 0,`created_time` integer,`test_time` integer,`response_time` integer,`base_url` text DEFAULT '',
 `other` text,`balance` real,`balance_updated_time` integer,`models` text,`group` varchar(32) DEFAULT 'default',
 `used_quota` integer DEFAULT 0,`model_mapping` varchar(1024) DEFAULT '',`priority` integer DEFAULT 0,PRIMARY KEY (`id`));
CREATE TABLE `abilities` (`group` varchar(32),`model` text,`channel_id` integer,`enabled` numeric,
 `priority` integer DEFAULT 0,PRIMARY KEY (`group`,`model`,`channel_id`));
CREATE TABLE `logs` (`id` integer,`user_id` integer,`created_at` integer,`type` integer,`content` text,
 `username` text DEFAULT '',`token_name` text DEFAULT '',`model_name` text DEFAULT '',`quota` integer DEFAULT 0,
 `prompt_tokens` integer DEFAULT 0,`completion_tokens` integer DEFAULT 0,`channel_id` integer,
 `request_id` text DEFAULT '',`elapsed_time` integer DEFAULT 0,`is_stream` numeric DEFAULT false,
 `system_prompt_reset` numeric DEFAULT false,PRIMARY KEY (`id`));
CREATE TABLE `redemptions` (`id` integer,`user_id` integer,`key` char(32),`status` integer DEFAULT 1,`name` text,
 `quota` integer DEFAULT 100,`created_time` integer,`redeemed_time` integer,PRIMARY KEY (`id`));
CREATE TABLE `options` (`key` text,`value` text,PRIMARY KEY (`key`));
"""


def _go_bcrypt(password: str) -> str:
    """A hash as Go's x/crypto/bcrypt writes it ($2a$, cost 10)."""
    return "$2a$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()[4:]


def _build_one_api_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(ONE_API_SQLITE)
    con.execute("INSERT INTO users (id, username, password, display_name, role, status, access_token, quota, used_quota,"
                " request_count, `group`, aff_code) VALUES (1,'root',?,'Root User',100,1,?,500000000000000,1234,7,'default','ab12')",
                (_go_bcrypt("s3cret-pass"), "0" * 32))
    con.execute("INSERT INTO users (id, username, password, role, status, quota, `group`, aff_code, inviter_id)"
                " VALUES (2,'bob',?,1,2,42,'vip','cd34',1)", (_go_bcrypt("bobpass12"),))
    con.execute("INSERT INTO tokens VALUES (1,1,'AbCdEfGhIjKlMnOp0123456789ABCDEF0123456789ABCDEF',1,'ci',1700000000,"
                "1700000100,-1,0,1,0,NULL,'')")
    con.execute("INSERT INTO tokens VALUES (2,2,'x23456789012345678901234567890123456789012345678',4,'bob-key',1700000000,"
                "1700000000,1800000000,0,0,500,'gpt-4o,gpt-4o-mini','10.0.0.0/8')")
    con.execute("INSERT INTO channels (id,type,key,status,name,weight,created_time,base_url,models,`group`,used_quota,"
                "model_mapping,priority,balance) VALUES (1,1,'sk-upstream-secret',1,'openai',0,1700000000,'',"
                "'gpt-4o,gpt-4o-mini','default,vip',99,'{\"gpt-4\":\"gpt-4o\"}',10,12.5)")
    con.execute("INSERT INTO abilities VALUES ('default','gpt-4o',1,1,10)")
    con.execute("INSERT INTO logs VALUES (1,1,1700000200,2,'倍率：2.50 × 1.00 × 4.00','root','ci','gpt-4o',150,10,20,1,"
                "'2023111412000012345678901234',812,1,0)")
    con.execute("INSERT INTO redemptions VALUES (1,1,'0123456789abcdef0123456789abcdef',1,'gift',100000,1700000000,0)")
    con.execute("INSERT INTO options VALUES ('SystemName','My Gateway'),('RetryTimes','3'),('ModelRatio','{\"gpt-4o\":2.5}'),"
                "('SomeFutureKey','kept')")
    con.commit()
    con.close()


async def test_existing_one_api_sqlite_database_opens_as_is(make_settings, tmp_path: Path):
    db_path = tmp_path / "one-api.db"
    _build_one_api_db(db_path)
    settings = make_settings(SQLITE_PATH=str(db_path))

    [report] = migrate(settings)
    assert report.adopted and report.before is None and report.after == head_revision()
    assert set(report.added) == {"users.lark_id", "users.oidc_id", "channels.config", "channels.system_prompt",
                                 "tokens.rpm_limit", "tokens.tpm_limit", "tokens.concurrency_limit"}
    assert _columns(settings) == EXPECTED

    db = Database.open(settings)
    try:
        async with db.session() as s:
            root, bob = (await s.exec(select(User).order_by(User.id))).all()
            assert (root.username, root.role, root.quota, root.used_quota, root.request_count) == (
                "root", 100, 500000000000000, 1234, 7)
            assert verify_password("s3cret-pass", root.password)  # Go's bcrypt hash verifies as is
            assert (bob.status, bob.group, bob.inviter_id, bob.lark_id) == (2, "vip", 1, None)
            t1, t2 = (await s.exec(select(Token).order_by(Token.id))).all()
            assert t1.unlimited_quota is True and t1.expired_time == -1 and t1.models is None
            assert (t2.status, t2.used_quota, t2.models, t2.subnet) == (4, 500, "gpt-4o,gpt-4o-mini", "10.0.0.0/8")
            channel = (await s.exec(select(Channel))).one()
            assert (channel.key, channel.priority, channel.balance, channel.model_mapping) == (
                "sk-upstream-secret", 10, 12.5, '{"gpt-4":"gpt-4o"}')
            ability = (await s.exec(select(Ability))).one()
            assert ability.enabled is True and ability.priority == 10
            redemption = (await s.exec(select(Redemption))).one()
            assert redemption.quota == 100000 and redemption.status == 1
            options = await load_options(s)
            assert options.SystemName == "My Gateway" and options.RetryTimes == 3
            assert options.model_extra == {"SomeFutureKey": "kept"}
        async with db.log_session() as s:
            log = (await s.exec(select(Log))).one()
            assert (log.quota, log.is_stream, log.elapsed_time, log.model_name) == (150, True, 812, "gpt-4o")
    finally:
        await db.close()

    [again] = migrate(settings)  # the next start sees a normal, up-to-date database
    assert not again.adopted and again.before == head_revision()


async def test_existing_database_keeps_its_root_user(make_settings, tmp_path: Path):
    """Start-up on an adopted database creates no second root and leaves passwords alone."""
    from oneapi_app.runtime import Runtime

    db_path = tmp_path / "one-api.db"
    _build_one_api_db(db_path)
    rt = Runtime(make_settings(SQLITE_PATH=str(db_path)))
    async with rt.lifespan():
        async with rt.db.session() as s:
            users = (await s.exec(select(User))).all()
        assert len(users) == 2
        assert rt.options.SystemName == "My Gateway"
