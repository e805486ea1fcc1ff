"""The ledger (services/ledger): one-transaction settlements, the crash journal and its recovery, the import
rule, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from oneapi_app.runtime import Runtime
from oneapi_app.services.ledger import ConsumeLog, Settlement, rules

START = 10_000
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
async def rt(request, make_settings):
    env = {} if request.param == "sqlite" else {
        "SQL_DSN": request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_dsn")}
    runtime = Runtime(make_settings(**env))
    async with runtime.lifespan():
        yield runtime


async def _token(rt: Runtime) -> int:
    from oneapi_app.models import TokenCreate
    from oneapi_app.services.tokens import create_token

    async with rt.db.session() as session:
        token = await create_token(session, 1, TokenCreate(name="ledger", remain_quota=START, unlimited_quota=False))
    async with rt.db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET quota = :q WHERE id = 1"), {"q": START})
    return token.id


async def _state(rt: Runtime, token_id: int) -> dict:
    async with rt.db.engine.connect() as conn:
        token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE id = :i"),
                                    {"i": token_id})).one()
        user = (await conn.execute(text("SELECT quota, used_quota, request_count FROM users WHERE id = 1"))).one()
        holds = (await conn.execute(text("SELECT instance, seq, amount FROM ledger_holds ORDER BY seq"))).all()
        logs = (await conn.execute(text("SELECT type, quota, content FROM logs WHERE type IN (2, 4) ORDER BY id"))).all()
    return {"token": tuple(token), "user": tuple(user), "holds": [tuple(h) for h in holds],
            "logs": [tuple(r) for r in logs]}


def _consume(channel_id: int = 0) -> ConsumeLog:
    return ConsumeLog(user_id=1, username="root", token_name="ledger", model_name="m", channel_id=channel_id,
                      prompt_tokens=1, completion_tokens=2, content="c", request_id="r1", elapsed_ms=1,
                      is_stream=False, system_prompt_reset=False, created_at=int(time.time()))


async def test_a_hold_is_journaled_in_its_transaction_and_its_settlement_removes_it(rt):
    token_id = await _token(rt)
    hold = await rt.ledger.reserve(token_id=token_id, unlimited=False, user_id=1, amount=300, request_id="r1")
    state = await _state(rt, token_id)
    assert state["token"] == (START - 300, 300) and state["user"][0] == START - 300
    assert state["holds"] == [(rt.ledger.instance, hold.seq, 300)]
    rt.ledger.settle(hold, 0, 120, _consume())
    await rt.ledger.flush()
    state = await _state(rt, token_id)
    assert state["token"] == (START - 120, 120) and state["user"] == (START - 120, 120, 1)
    assert state["holds"] == [] and state["logs"] == [(2, 120, "c")]


async def test_balances_journal_and_log_rows_commit_in_one_transaction(rt, monkeypatch):
    """A settlement whose log row cannot be written changes no balance (today PostgreSQL/MySQL committed the
    balances first, in a transaction of their own)."""
    token_id = await _token(rt)
    hold = await rt.ledger.reserve(token_id=token_id, unlimited=False, user_id=1, amount=300, request_id="r1")
    monkeypatch.setattr(rules, "LOG_INSERT", rules.LOG_INSERT.replace("INSERT INTO logs", "INSERT INTO no_such_table"))
    rt.ledger.settle(hold, 0, 120, _consume())
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error
        await rt.ledger.flush()
    state = await _state(rt, token_id)
    assert state["token"] == (START - 300, 300) and state["user"] == (START - 300, 0, 0)  # nothing settled
    assert len(state["holds"]) == 1 and state["logs"] == []
    monkeypatch.undo()
    await rt.ledger.flush()  # the kept batch goes through whole
    state = await _state(rt, token_id)
    assert state["token"] == (START - 120, 120) and state["holds"] == [] and state["logs"] == [(2, 120, "c")]


async def _foreign_hold(rt: Runtime, token_id: int, instance: str, node: str, heartbeat: int, seq: int,
                        amount: int) -> None:
    """What a reservation of another process leaves: the debits, its journal row and its instance row."""
    async with rt.db.engine.begin() as conn:
        await conn.execute(text("UPDATE tokens SET remain_quota = remain_quota - :x, used_quota = used_quota + :x "
                                "WHERE id = :i"), {"x": amount, "i": token_id})
        await conn.execute(text("UPDATE users SET quota = quota - :x WHERE id = 1"), {"x": amount})
        await conn.execute(text(f"INSERT INTO ledger_holds ({rules.HOLD_COLUMNS}) VALUES (:i, :s, :t, 1, :u, :x, "
                                ":r, 0)"), {"i": instance, "s": seq, "t": token_id, "u": False, "x": amount,
                                            "r": f"req-{instance[:4]}-{seq}"})
        exists = (await conn.execute(text("SELECT COUNT(*) FROM ledger_instances WHERE id = :i"),
                                     {"i": instance})).scalar_one()
        if not exists:
            await conn.execute(text("INSERT INTO ledger_instances (id, node, started_at, heartbeat) "
                                    "VALUES (:i, :n, 0, :h)"), {"i": instance, "n": node, "h": heartbeat})


async def test_recovery_releases_holds_of_dead_instances_only(rt):
    token_id = await _token(rt)
    now = int(time.time())
    await _foreign_hold(rt, token_id, "dead" * 8, "node-b", now - 3600, 1, 100)  # no heartbeat for an hour
    await _foreign_hold(rt, token_id, "dead" * 8, "node-b", now - 3600, 2, 20)
    await _foreign_hold(rt, token_id, "live" * 8, "node-c", now, 1, 50)  # another node, alive
    await _foreign_hold(rt, token_id, "gone" * 8, "node-d", now, 7, 5)
    async with rt.db.engine.begin() as conn:  # a hold whose instance row is gone
        await conn.execute(text("DELETE FROM ledger_instances WHERE id = :i"), {"i": "gone" * 8})
    assert (await _state(rt, token_id))["token"] == (START - 175, 175)

    assert await rt.ledger.recovery.recover(at_start=False) == 3
    state = await _state(rt, token_id)
    assert state["token"] == (START - 50, 50) and state["user"] == (START - 50, 0, 0)
    assert state["holds"] == [("live" * 8, 1, 50)]
    assert len(state["logs"]) == 3 and all(t == 4 and q == 0 and "released after a crash" in c
                                           for t, q, c in state["logs"])
    async with rt.db.engine.connect() as conn:
        instances = set((await conn.execute(text("SELECT id FROM ledger_instances"))).scalars())
    assert instances == {rt.ledger.instance, "live" * 8}
    assert await rt.ledger.recovery.recover(at_start=False) == 0  # nothing twice


async def test_a_restart_of_the_same_node_releases_its_dead_instances_at_once(rt, make_settings):
    token_id = await _token(rt)
    node = (Path(make_settings().data_dir) / "node_id").read_text().strip()
    assert rt.ledger.recovery.node == node  # this process holds the node's lock
    await _foreign_hold(rt, token_id, "prev" * 8, node, int(time.time()), 1, 70)  # heartbeat still fresh
    assert await rt.ledger.recovery.recover(at_start=False) == 0  # by the lease it is alive
    assert await rt.ledger.recovery.recover(at_start=True) == 1  # but it is this node's, before this start
    assert (await _state(rt, token_id))["token"] == (START, 0)


async def test_a_settlement_after_a_wrongful_release_charges_the_whole_cost(rt):
    """A process taken for dead (cut off longer than the lease) settles later: no quota is given twice."""
    token_id = await _token(rt)
    hold = await rt.ledger.reserve(token_id=token_id, unlimited=False, user_id=1, amount=300, request_id="r1")
    await rt.ledger.settlements.write_now([Settlement(hold, 0, 0, None, recovered=True, note="released")])
    assert (await _state(rt, token_id))["token"] == (START, 0)
    rt.ledger.settle(hold, 0, 120, _consume())
    await rt.ledger.flush()
    state = await _state(rt, token_id)
    assert state["token"] == (START - 120, 120) and state["user"] == (START - 120, 120, 1)
    # ... and a second recovery of the same hold gives nothing back twice
    await rt.ledger.settlements.write_now([Settlement(hold, 0, 0, None, recovered=True, note="again")])
    assert (await _state(rt, token_id))["token"] == (START - 120, 120)


async def test_a_clean_shutdown_leaves_no_instance_row(make_settings):
    runtime = Runtime(make_settings())
    async with runtime.lifespan():
        token_id = await _token(runtime)
        hold = await runtime.ledger.reserve(token_id=token_id, unlimited=False, user_id=1, amount=10)
        runtime.ledger.refund(hold)
    again = Runtime(make_settings())
    async with again.lifespan():
        async with again.db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id FROM ledger_instances"))).scalars().all()
            holds = (await conn.execute(text("SELECT COUNT(*) FROM ledger_holds"))).scalar_one()
        assert rows == [again.ledger.instance] and holds == 0


async def test_separate_log_database_settles_a_logged_hold_from_its_row(make_settings, postgres_dsn, mysql_dsn):
    """LOG_SQL_DSN: log rows commit first; a crash before the balances leaves the hold journaled with its
    consume row written, and the recovery charges what the row says instead of releasing it."""
    runtime = Runtime(make_settings(SQL_DSN=postgres_dsn, LOG_SQL_DSN=mysql_dsn))
    async with runtime.lifespan():
        assert runtime.db.log_engine is not runtime.db.engine
        token_id = await _token(runtime)
        hold = await runtime.ledger.reserve(token_id=token_id, unlimited=False, user_id=1, amount=300,
                                            request_id="req-logged")
        # The log row made it, the balances did not (the process died between the two commits).
        async with runtime.db.log_engine.begin() as conn:
            await conn.execute(text(rules.LOG_INSERT), rules.log_row(Settlement(hold, 0, 120, _consume())) | {
                "request_id": "req-logged"})
        async with runtime.db.engine.begin() as conn:
            await conn.execute(text("UPDATE ledger_holds SET instance = :d"), {"d": "d" * 32})
            await conn.execute(text("INSERT INTO ledger_instances (id, node, started_at, heartbeat) "
                                    "VALUES (:d, '', 0, 0)"), {"d": "d" * 32})
        assert await runtime.ledger.recovery.recover(at_start=False) == 1
        async with runtime.db.engine.connect() as conn:
            token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE id = :i"),
                                        {"i": token_id})).one()
            user = (await conn.execute(text("SELECT quota, used_quota, request_count FROM users WHERE id = 1"))).one()
        assert tuple(token) == (START - 120, 120) and tuple(user) == (START - 120, 120, 1)


def test_the_money_path_never_imports_the_runtime():
    """No import circle: the ledger and the services that move quota take narrow parts, not the Runtime
    (not even under TYPE_CHECKING)."""
    files = [*(ROOT / "oneapi_app/services/ledger").glob("*.py"), ROOT / "oneapi_app/services/redemptions.py",
             ROOT / "oneapi_app/services/users.py"]
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module or ''}.{a.name}" for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if "runtime" in n.split(".") or "relay" in n.split(".")]
    assert offenders == []
