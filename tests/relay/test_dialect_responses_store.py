"""The stored Responses answers on SQLite, PostgreSQL and MariaDB: saved off the request path (one batching
background writer, flushed at shutdown), read back by their owner only, deleted by their owner only."""

from __future__ import annotations

from oneapi_app.background import Background
from oneapi_app.db import Database
from oneapi_app.migrations import migrate
from oneapi_app.services.responses_store import ResponsesStore


async def test_save_load_and_ownership_on_every_database(make_settings, any_dsn):
    settings = make_settings(SQL_DSN=any_dsn)
    migrate(settings)
    db = Database.open(settings)
    background = Background()
    store = ResponsesStore(db, background)
    try:
        long_text = "x" * 200_000  # LONGTEXT on MariaDB: a long conversation fits
        response = {"id": "resp_abc", "model": "gpt-4o", "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": long_text}]}]}
        items = [{"type": "message", "role": "user", "content": "héllo 你好"}]
        store.save_later(response=response, user_id=7, token_id=3, input_items=items)
        queued = await store.load("resp_abc", 7)  # readable at once, from the writer's queue
        assert queued is not None and queued.input == items
        assert await store.load("resp_abc", 8) is None
        await store.flush()
        stored = await store.load("resp_abc", 7)  # from the database now
        assert stored is not None and stored.input == items and stored.output == response["output"]
        assert stored.model == "gpt-4o"
        store.save_later(response={**response, "model": "other"}, user_id=8, token_id=4, input_items=[])
        await store.flush()  # the same id again (an upstream repeating its ids): the first owner keeps it
        assert (await store.load("resp_abc", 7)).model == "gpt-4o" and await store.load("resp_abc", 8) is None
        assert await store.load("resp_abc", 8) is None  # another user's id: not found
        assert await store.load("resp_nope", 7) is None
        assert not await store.delete("resp_abc", 8)
        assert await store.delete("resp_abc", 7)
        assert await store.load("resp_abc", 7) is None
    finally:
        await db.close()
