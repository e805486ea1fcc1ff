"""Runtime lifecycle: background work is flushed at shutdown, Redis is used when configured, options load."""

import asyncio
import subprocess
import sys
import uuid

import pytest

from oneapi_app.background import Background
from oneapi_app.errors import ConfigError
from oneapi_app.runtime import Runtime
from oneapi_app.services.options import load_options, update_option

from .servers import ROOT


async def test_background_work_finishes_and_flushers_run_at_close():
    bg = Background()
    done, flushed = [], []

    async def slow():
        await asyncio.sleep(0.05)
        done.append(1)

    async def flush():
        flushed.append(len(done))

    bg.spawn(slow(), "slow")
    bg.add_flusher(flush)
    await bg.close(timeout=5)
    assert done == [1] and flushed == [1]  # the task finished before the flusher ran
    with pytest.raises(RuntimeError, match="shutting down"):
        bg.spawn(slow(), "late")


async def test_background_close_cancels_stuck_work_after_timeout():
    bg = Background()
    bg.spawn(asyncio.sleep(60), "stuck")
    await bg.close(timeout=0.05)
    assert bg.pending == 0


async def test_runtime_with_redis(make_settings):
    rt = Runtime(make_settings(REDIS_CONN_STRING="redis://127.0.0.1:6379/15",
                               REDIS_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}:"))  # its own keys and change channel
    async with rt.lifespan():
        assert rt.redis is not None
        await rt.redis.set("oneapi-test:ping", "1", ex=5)
        assert await rt.redis.get("oneapi-test:ping") == b"1"
    assert rt.redis is None


async def test_runtime_refuses_unreachable_redis(make_settings):
    rt = Runtime(make_settings(REDIS_CONN_STRING="redis://127.0.0.1:1/0"))
    with pytest.raises(Exception):  # noqa: B017 -- any error stops the start; the class is the driver's
        async with rt.lifespan():
            pass


async def test_options_update_validates_and_persists(runtime):
    async with runtime.db.session() as s:
        opts = await update_option(s, runtime.options, "RetryTimes", "3", bus=runtime.changes)
        assert opts.RetryTimes == 3
        opts = await update_option(s, opts, "RegisterEnabled", "false", bus=runtime.changes)
        opts = await update_option(s, opts, "GroupRatio", '{"default":1,"vip":0.5}', bus=runtime.changes)
        opts = await update_option(s, opts, "CustomThing", "x", bus=runtime.changes)
        with pytest.raises(ConfigError, match="RetryTimes：应为数字"):
            await update_option(s, opts, "RetryTimes", "two", bus=runtime.changes)
        with pytest.raises(ConfigError, match="GroupRatio：JSON 无效"):
            await update_option(s, opts, "GroupRatio", "{oops", bus=runtime.changes)
        with pytest.raises(ConfigError, match="Theme"):
            await update_option(s, opts, "Theme", "neon", bus=runtime.changes)
    async with runtime.db.session() as s:
        loaded = await load_options(s)
    assert loaded.RetryTimes == 3 and loaded.RegisterEnabled is False
    assert loaded.group_ratios() == {"default": 1, "vip": 0.5}
    assert loaded.model_extra == {"CustomThing": "x"}


async def test_periodic_job_runs_and_stops_at_close():
    bg = Background()
    runs = []

    async def job():
        runs.append(1)

    bg.every(0.01, job, "tick")
    while len(runs) < 3:
        await asyncio.sleep(0.01)
    await bg.close(timeout=5)  # returns promptly: the loop watches `stopping`
    assert bg.pending == 0


async def test_options_reload_picks_up_changes_from_other_nodes(runtime):
    from oneapi_app.models import Option

    seen = []
    runtime.changes.subscribe("options", lambda key: seen.append(key))
    async with runtime.db.session() as s:  # as another node would write it
        s.add(Option(key="SystemName", value="Other Node Name"))
        await s.commit()
    await runtime.reload_options()
    assert runtime.options.SystemName == "Other Node Name" and seen == [None]


async def test_sqlite_runs_in_wal_mode_with_busy_timeout(runtime):
    from sqlalchemy import text

    async with runtime.db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 3000
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_changes_reach_the_other_nodes_through_redis(make_settings):
    """Two nodes on one database and one Redis: a change announced on one reaches the other's subscribers."""

    prefix = f"t{uuid.uuid4().hex[:8]}:"
    settings = make_settings(REDIS_CONN_STRING="redis://127.0.0.1:6379/14", REDIS_KEY_PREFIX=prefix)
    a, b = Runtime(settings), Runtime(settings)
    async with a.lifespan(), b.lifespan():
        seen_a, seen_b = [], []
        a.changes.subscribe("token", seen_a.append)
        b.changes.subscribe("token", seen_b.append)
        await a.changes.publish("token", "abc")
        for _ in range(3000):  # bounded, generous for a loaded machine
            if seen_b:
                break
            await asyncio.sleep(0.01)
        assert seen_a == ["abc"] and seen_b == ["abc"]  # once each: a node ignores its own echo


SECOND_START = """
import asyncio, sys
from oneapi_app.api import create_api
from oneapi_app.runtime import Runtime
from oneapi_app.settings import load_settings

async def start():
    async with Runtime(load_settings({"DATA_DIR": sys.argv[1]})).lifespan() as rt:
        create_api(rt)

asyncio.run(start())
print(sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "authlib", "joserfc", "mako"}))
"""


async def test_start_on_an_up_to_date_database_does_not_import_alembic(settings):
    async with Runtime(settings).lifespan():  # the first start creates the schema (with alembic)
        pass
    second = subprocess.run([sys.executable, "-c", SECOND_START, str(settings.data_dir)],  # noqa: ASYNC221
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "[]"
