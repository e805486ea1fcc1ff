"""Stored Responses API answers (models/response.py): the one writer of the ``responses`` table.

A response is stored after its answer reached the client: ``save_later`` queues its row for the store's one
background writer (tracked background work; the queue is written at shutdown), off the request's path. A
client that continues the conversation at once finds it in the queue. Reads are by id AND owner: another user's response
id is "not found", exactly like an unknown one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..models import StoredResponse, now, table_of

if TYPE_CHECKING:
    from ..background import Background
    from ..db import Database

log = logging.getLogger(__name__)
TABLE = table_of(StoredResponse)
PENDING_WAIT = 5.0  # seconds a delete waits for the queued row of the id it deletes to be written


@dataclass(slots=True)
class Stored:
    id: str
    user_id: int
    model: str
    input: list
    response: dict

    @property
    def output(self) -> list:
        output = self.response.get("output")
        return output if isinstance(output, list) else []


class ResponsesStore:
    """Saves and reads stored responses of one runtime (its database and background work).

    Writes are queued and written by one background writer, as many rows per transaction as are waiting (a
    busy gateway does not pay one transaction per response; SQLite has one writer). A queued response is
    readable at once (``load`` looks at the queue first), and the queue is written at shutdown."""

    def __init__(self, db: Database, background: Background) -> None:
        self.db = db
        self.background = background
        self._queue: dict[str, dict] = {}  # id -> row not written yet
        self._writer: asyncio.Task | None = None
        self._flusher = False

    def save_later(self, *, response: dict, user_id: int, token_id: int, input_items: list) -> None:
        """Store ``response`` once the answer is out (tracked background work, flushed at shutdown)."""
        response_id = str(response.get("id") or "")
        if not response_id or response_id in self._queue:
            return
        self._queue[response_id] = {
            "id": response_id[:64], "user_id": user_id, "token_id": token_id,
            "model": str(response.get("model") or "")[:191], "created_at": now(),
            "input": orjson.dumps(input_items).decode(), "response": orjson.dumps(response).decode()}
        if not self._flusher:
            self._flusher = True
            self.background.add_flusher(self.flush)
        if self._writer is None or self._writer.done():
            try:
                self._writer = self.background.spawn(self._drain(), name="store-responses")
            except RuntimeError:  # shutting down: the flusher writes the queue
                pass

    async def flush(self) -> None:
        await self._drain()

    async def _drain(self) -> None:
        while self._queue:
            rows = list(self._queue.values())
            try:
                async with self.db.engine.begin() as conn:
                    await conn.execute(TABLE.insert(), rows)
            except IntegrityError:  # an id stored already (an upstream repeating its ids): row by row
                await self._one_by_one(rows)
            except Exception:
                log.exception("could not store %d responses", len(rows))
            for row in rows:
                self._queue.pop(row["id"], None)

    async def _one_by_one(self, rows: list[dict]) -> None:
        for row in rows:
            try:
                async with self.db.engine.begin() as conn:
                    await conn.execute(TABLE.insert().values(**row))
            except IntegrityError:  # the first owner keeps the id
                log.warning("response %s is stored already; the new answer under that id was not stored", row["id"])
            except Exception:
                log.exception("could not store response %s", row["id"])

    async def load(self, response_id: str, user_id: int) -> Stored | None:
        """The stored response ``response_id`` if ``user_id`` owns it, else None."""
        row: Mapping | None = self._queue.get(response_id)
        if row is None:
            async with self.db.engine.connect() as conn:
                row = (await conn.execute(select(TABLE).where(TABLE.c.id == response_id, TABLE.c.user_id == user_id))
                       ).mappings().first()
        if row is None or row["user_id"] != user_id:
            return None
        return Stored(row["id"], row["user_id"], row["model"], orjson.loads(row["input"]),
                      orjson.loads(row["response"]))

    async def delete(self, response_id: str, user_id: int) -> bool:
        if response_id in self._queue and self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer}, timeout=PENDING_WAIT)
        async with self.db.engine.begin() as conn:
            result = await conn.execute(delete(TABLE).where(TABLE.c.id == response_id, TABLE.c.user_id == user_id))
        return bool(result.rowcount)
