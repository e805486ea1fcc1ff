import time

from oneapi_app.models import Log, LogType

from .conftest import ROOT


async def add_logs(runtime, rows):
    async with runtime.db.log_session() as s:
        for row in rows:
            s.add(Log(**row))
        await s.commit()


def consume(user_id, username, model, quota, created_at, token="t1", channel=7, prompt=10, completion=5):
    return {"user_id": user_id, "username": username, "type": int(LogType.CONSUME), "model_name": model,
            "quota": quota, "created_at": created_at, "token_name": token, "channel_id": channel,
            "prompt_tokens": prompt, "completion_tokens": completion, "content": "倍率：1.00 × 1.00 × 1.00"}


async def test_filters_stats_search_and_purge(client, runtime, common, admin):
    now = int(time.time())
    await add_logs(runtime, [
        consume(common.id, "alice", "gpt-4o", 100, now - 100),
        consume(common.id, "alice", "gpt-4o-mini", 10, now - 50, token="t2", channel=8),
        consume(admin.id, "adam", "gpt-4o", 1000, now - 10),
        {"user_id": common.id, "username": "alice", "type": int(LogType.TOPUP), "content": "top-up 50",
         "quota": 50, "created_at": now - 5},
        {"user_id": common.id, "username": "alice", "type": int(LogType.CONSUME), "model_name": "old",
         "quota": 1, "created_at": now - 90 * 86400},
    ])
    h = ROOT

    async def ids(url, headers=h):
        body = (await client.get(url, headers=headers)).json()
        assert body["success"], body
        return body["data"]

    assert len(await ids("/api/log/")) == 5
    assert len(await ids("/api/log/?type=2")) == 4
    assert len(await ids("/api/log/?username=alice")) == 4
    assert len(await ids("/api/log/?model_name=gpt-4o")) == 2
    assert len(await ids("/api/log/?token_name=t2")) == 1
    assert len(await ids("/api/log/?channel=8")) == 1
    assert len(await ids(f"/api/log/?start_timestamp={now - 60}&end_timestamp={now - 8}")) == 2
    assert (await ids("/api/log/?username=alice"))[0]["channel"] == 0
    assert (await ids("/api/log/stat?username=alice"))["quota"] == 111
    assert (await ids(f"/api/log/stat?start_timestamp={now - 1000}"))["quota"] == 1110
    # Self views: own rows only, ids omitted.
    mine = await ids("/api/log/self", common.headers)
    assert len(mine) == 4 and all("id" not in row and "user_id" not in row for row in mine)
    assert (await ids("/api/log/self/stat", common.headers))["quota"] == 111
    assert len(await ids("/api/log/self/search?keyword=1", common.headers)) == 1
    assert len(await ids("/api/log/self/search?keyword=2", admin.headers)) == 1
    # Admin search: type or content prefix.
    assert len(await ids("/api/log/search?keyword=top-up")) == 1
    assert len(await ids("/api/log/search?keyword=2")) == 4
    assert len(await ids("/api/log/search?keyword=%25")) == 0
    # Pages of 10.
    await add_logs(runtime, [consume(common.id, "alice", "m", 1, now - 1) for _ in range(12)])
    assert len(await ids("/api/log/self?p=0", common.headers)) == 10
    assert len(await ids("/api/log/self?p=1", common.headers)) == 6
    # Purge older than a timestamp.
    r = await client.delete(f"/api/log/?target_timestamp={now - 86400}", headers=h)
    assert r.json() == {"success": True, "message": "", "data": 1}
    r = await client.delete("/api/log/", headers=h)
    assert not r.json()["success"]


async def test_dashboard_seven_days_per_model(client, runtime, common):
    now = int(time.time())
    await add_logs(runtime, [
        consume(common.id, "alice", "gpt-4o", 100, now - 60),
        consume(common.id, "alice", "gpt-4o", 50, now - 30, prompt=1, completion=2),
        consume(common.id, "alice", "o1", 7, now - 30),
        consume(common.id, "alice", "gpt-4o", 9999, now - 8 * 86400),
    ])
    rows = (await client.get("/api/user/dashboard", headers=common.headers)).json()["data"]
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 60))
    by_model = {(r["Day"], r["ModelName"]): r for r in rows}
    gpt = by_model.get((day, "gpt-4o")) or next(r for r in rows if r["ModelName"] == "gpt-4o")
    assert gpt["RequestCount"] == 2 and gpt["Quota"] == 150 and gpt["PromptTokens"] == 11
    assert gpt["CompletionTokens"] == 7
    assert sum(r["Quota"] for r in rows) == 157
    assert set(rows[0]) == {"Day", "ModelName", "RequestCount", "Quota", "PromptTokens", "CompletionTokens"}
