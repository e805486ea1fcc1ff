"""Email verification codes and password-reset tokens, with expiry, shared by every node.

Stored in Redis when configured, else in the database (rows of the ``options`` table under a reserved
``verification:`` prefix, which option listing and loading skip). Only a SHA-256 of the code is stored; a
code is single-use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from redis.asyncio import Redis
from sqlmodel import col, delete, select

from ..db import Database
from ..models import Option
from .options import _upsert

PREFIX = "verification:"
CODE_TTL = 10 * 60  # one-api: 10 minutes for both codes and reset links
EMAIL_VERIFICATION = "email"
PASSWORD_RESET = "reset"


def new_code() -> str:
    """6 hex characters (one-api's verification code)."""
    return secrets.token_hex(3)


def new_reset_token() -> str:
    return secrets.token_hex(16)


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode("utf-8")).hexdigest()


def _key(purpose: str, subject: str) -> str:
    return f"{PREFIX}{purpose}:{subject.strip().lower()}"


class CodeStore:
    def __init__(self, db: Database, redis: Redis | None = None, redis_prefix: str = "") -> None:
        self.db = db
        self.redis = redis
        self.redis_prefix = redis_prefix  # REDIS_KEY_PREFIX: several appliances on one Redis

    @classmethod
    def of(cls, runtime) -> CodeStore:
        return cls(runtime.db, runtime.redis, runtime.settings.redis_key_prefix)

    async def put(self, purpose: str, subject: str, code: str, ttl: int = CODE_TTL) -> None:
        key = _key(purpose, subject)
        if self.redis is not None:
            await self.redis.set(self.redis_prefix + key, _digest(code), ex=ttl)
            return
        value = json.dumps({"digest": _digest(code), "expires": int(time.time()) + ttl})
        async with self.db.session() as session:
            await self._purge_expired(session)
            await session.exec(_upsert(session.get_bind().dialect.name, key, value))  # type: ignore[call-overload]
            await session.commit()

    async def check(self, purpose: str, subject: str, code: str, *, consume: bool = True) -> bool:
        if not code or not subject:
            return False
        key = _key(purpose, subject)
        expected = _digest(code)
        if self.redis is not None:
            key = self.redis_prefix + key
            stored = await self.redis.get(key)
            stored_text = stored.decode() if isinstance(stored, bytes) else (stored or "")
            if not hmac.compare_digest(stored_text, expected):
                return False
            # DEL reports 1 to exactly one of several concurrent checks: the code is used once.
            return not consume or await self.redis.delete(key) == 1
        async with self.db.session() as session:
            row = await session.get(Option, key)
            if row is None:
                return False
            try:
                data = json.loads(row.value or "{}")
            except ValueError:
                data = {}
            if int(data.get("expires", 0)) < time.time() or not hmac.compare_digest(str(data.get("digest", "")),
                                                                                     expected):
                return False
            if consume:
                result = await session.exec(delete(Option).where(col(Option.key) == key))  # type: ignore[call-overload]
                await session.commit()
                return bool(result.rowcount)  # a concurrent check already took it
            return True

    @staticmethod
    async def _purge_expired(session) -> None:
        rows = (await session.exec(select(Option).where(col(Option.key).startswith(PREFIX)))).all()
        current = time.time()
        stale = []
        for row in rows:
            try:
                if int(json.loads(row.value or "{}").get("expires", 0)) < current:
                    stale.append(row.key)
            except (ValueError, AttributeError):
                stale.append(row.key)
        if stale:
            await session.exec(delete(Option).where(col(Option.key).in_(stale)))  # type: ignore[call-overload]
