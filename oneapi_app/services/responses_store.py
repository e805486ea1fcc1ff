"""Stored Responses API answers (models/response.py): the one writer of the ``responses`` table.

A response is stored after its answer reached the client: ``save_later`` hands the insert to the runtime's
tracked background work (one INSERT per stored response, off the request's path; shutdown waits for it), so
a client that continues the conversation at once may, rarely, race it: ``load`` then waits a moment for the
pending insert of that id before answering "not found". Reads are by id AND owner: another user's response
id is "not found", exactly like an unknown one.
"""

from __future__ import annotations

import asyncio
import logging
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
PENDING_WAIT = 5.0  # seconds a read waits for the pending insert of the id it asks for


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
    """Saves and reads stored responses of one runtime (its database and background work)."""

    def __init__(self, db: Database, background: Background) -> None:
        self.db = db
        self.background = background
        self._pending: dict[str, asyncio.Task] = {}

    def save_later(self, *, response: dict, user_id: int, token_id: int, input_items: list) -> None:
        """Store ``response`` once the answer is out (tracked background work, flushed at shutdown)."""
        response_id = str(response.get("id") or "")
        if not response_id:
            return
        row = {"id": response_id, "user_id": user_id, "token_id": token_id,
               "model": str(response.get("model") or "")[:191], "created_at": now(),
               "input": orjson.dumps(input_items).decode(), "response": orjson.dumps(response).decode()}
        try:
            task = self.background.spawn(self._insert(row), name=f"store-response-{response_id}")
        except RuntimeError:  # shutting down: nothing new may start; the answer was delivered anyway
            log.warning("response %s not stored: the server is shutting down", response_id)
            return
        self._pending[response_id] = task
        task.add_done_callback(lambda _t: self._pending.pop(response_id, None))

    async def _insert(self, row: dict) -> None:
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(TABLE.insert().values(**row))
        except IntegrityError:  # an upstream that repeats its ids: the first owner keeps the id
            log.warning("response %s is stored already; the new answer under that id was not stored", row["id"])
        except Exception:
            log.exception("could not store response %s", row["id"])

    async def load(self, response_id: str, user_id: int) -> Stored | None:
        """The stored response ``response_id`` if ``user_id`` owns it, else None."""
        pending = self._pending.get(response_id)
        if pending is not None:
            await asyncio.wait({pending}, timeout=PENDING_WAIT)
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(TABLE).where(TABLE.c.id == response_id, TABLE.c.user_id == user_id))
                   ).mappings().first()
        if row is None:
            return None
        return Stored(row["id"], row["user_id"], row["model"], orjson.loads(row["input"]),
                      orjson.loads(row["response"]))

    async def delete(self, response_id: str, user_id: int) -> bool:
        pending = self._pending.get(response_id)
        if pending is not None:
            await asyncio.wait({pending}, timeout=PENDING_WAIT)
        async with self.db.engine.begin() as conn:
            result = await conn.execute(delete(TABLE).where(TABLE.c.id == response_id, TABLE.c.user_id == user_id))
        return bool(result.rowcount)
