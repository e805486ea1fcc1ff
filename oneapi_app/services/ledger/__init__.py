"""The ledger: the only way quota moves. ``reserve`` before a request, ``settle`` or ``refund`` after it.

* ``reserve``: the conditional UPDATEs on the token (unless unlimited) and the user, both or neither, and
  the hold's journal row, in one transaction (rules.py). Nothing is read into Python first, so concurrent
  requests can never spend the same quota twice; only the database refuses. Reservations arriving together
  share the transaction (group commit): sqlite.py (inline on the event loop's connection when the database
  is free) and batcher.py (PostgreSQL, MySQL).
* ``settle``: the exact difference (actual - reserved) with the consume log row, handed synchronously to
  the settlement writer (settlements.py), which group-commits balances, journal and log rows in one
  transaction at least every 200 ms. ``refund`` settles an actual of 0. Every failure path refunds.
* After kill -9 the journal tells which holds never settled; recovery.py gives them back at the next start.
* Quota moves outside the relay (redemptions, admin edits, top-ups): quota.py.

The ledger takes the narrow parts it needs (settings, database, tracked background work, an options
getter), never the Runtime.

Layout: rules.py (the statements and plans), sqlite.py (SQLite writer), batcher.py (PostgreSQL/MySQL
reservations), settlements.py (settlement writer), recovery.py (crash journal), quota.py (admin moves).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import uuid
from collections.abc import Callable

from ...background import Background
from ...db import Database
from ...errors import ReservationUnavailable, TokenQuotaExhausted, UserQuotaExhausted
from ...settings import Settings
from ..options import Options
from .batcher import ReservationBatcher
from .quota import add_quota, move_user_quota
from .recovery import HEARTBEAT, Recovery, claim_node
from .rules import ConsumeLog, Hold, Settlement
from .settlements import SettlementWriter
from .sqlite import SqliteWriter

__all__ = ["ConsumeLog", "Hold", "Ledger", "ReservationUnavailable", "Settlement", "TokenQuotaExhausted",
           "UserQuotaExhausted", "add_quota", "move_user_quota"]
log = logging.getLogger(__name__)


class Ledger:
    def __init__(self, settings: Settings, background: Background, options: Callable[[], Options]) -> None:
        self.settings = settings
        self.background = background
        self.options = options
        self.instance = uuid.uuid4().hex
        self.wait = settings.settlement_wait
        self._seq = itertools.count(1)
        self._node_lock: int | None = None
        self.sqlite: SqliteWriter | None = None
        self.batcher: ReservationBatcher | None = None  # PostgreSQL / MySQL
        self._settlements: SettlementWriter | None = None
        self._recovery: Recovery | None = None

    @property
    def settlements(self) -> SettlementWriter:
        if self._settlements is None:
            raise RuntimeError("the ledger is not started (use it inside the app lifespan)")
        return self._settlements

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            raise RuntimeError("the ledger is not started (use it inside the app lifespan)")
        return self._recovery

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self, db: Database) -> None:
        node, self._node_lock = claim_node(self.settings.data_dir)
        if db.url.kind == "sqlite":
            self.sqlite = SqliteWriter(db.url.sync_url.removeprefix("sqlite:///"), self.settings.sqlite_busy_timeout)
            await self.sqlite.start()
        self._settlements = SettlementWriter(db, self.background, self.options, self.sqlite)
        self._recovery = Recovery(db, self._settlements, self.instance, node)
        await self._recovery.register()
        try:
            await self._recovery.recover(at_start=True)
        except Exception:  # the next heartbeat tries again; serving must not wait for it
            log.exception("releasing the quota holds of dead processes failed; will retry")
        if self.sqlite is None:
            self.batcher = ReservationBatcher(db, self.background, self.refund)
            self.batcher.start()
        self._settlements.start()
        self.background.every(HEARTBEAT, self._recovery.tick, "ledger-heartbeat")

    async def stop(self) -> None:
        """After the runtime's shutdown flush (every settlement is written)."""
        if self._recovery is not None:
            try:
                await self._recovery.unregister()
            except Exception:  # the lease releases it later
                log.exception("could not unregister this process from the ledger")
        if self.sqlite is not None:
            await self.sqlite.stop()
            self.sqlite = None
        if self._node_lock is not None:
            os.close(self._node_lock)
            self._node_lock = None

    async def flush(self) -> None:
        await self.settlements.flush()

    # -- money ----------------------------------------------------------------------------------------
    async def reserve(self, *, token_id: int, unlimited: bool, user_id: int, amount: int,
                      request_id: str = "") -> Hold:
        """Hold ``amount`` quota on the token (unless unlimited) and the user, atomically, or raise.

        On SQLite it commits on the loop's own connection (no thread hop), at once or with the other
        reservations of the same loop turn, unless the database is locked. Work left pending is shielded from the request's cancellation: a client that goes away while
        its reservation commits gets it refunded as soon as the commit is known, never leaked."""
        if amount <= 0:
            return Hold(token_id, unlimited, user_id, 0)
        hold = Hold(token_id, unlimited, user_id, amount, self.instance, next(self._seq), request_id[:64],
                    int(time.time()))
        sqlite = self.sqlite
        if sqlite is None:
            assert self.batcher is not None
            refused = await self.batcher.reserve(hold)
        else:  # at once, or with the other reservations of this loop turn (sqlite.py)
            outcome = sqlite.reserve_now_or_in_turn(hold)
            refused = await self._reserve_later(outcome, hold) if isinstance(outcome, asyncio.Future) else outcome
        if refused == "token":
            raise TokenQuotaExhausted()
        if refused == "user":
            raise UserQuotaExhausted()
        return hold

    async def _reserve_later(self, held: asyncio.Future, hold: Hold) -> str | None:
        try:
            return await asyncio.shield(held)
        except asyncio.CancelledError:  # the client went away: what was held is given back once known
            held.add_done_callback(self._refund_if_held(hold))
            raise

    def _refund_if_held(self, hold: Hold) -> Callable[[asyncio.Future], None]:
        def refund_if_held(done: asyncio.Future) -> None:
            if not done.cancelled() and done.exception() is None and done.result() is None:
                self.refund(hold)

        return refund_if_held

    def settle(self, hold: Hold, channel_id: int, actual: int, log: ConsumeLog | None) -> Settlement:
        """Charge ``actual`` for the request of ``hold`` (its reservation is given back or topped up)."""
        settlement = Settlement(hold, channel_id, actual, log)
        if self.wait:
            settlement.done = asyncio.get_running_loop().create_future()
        self.settlements.submit(settlement)
        return settlement

    def refund(self, hold: Hold) -> None:
        """Give the whole reservation back (the request produced nothing)."""
        if hold.amount:
            self.settlements.submit(Settlement(hold, 0, 0, None))

    async def committed(self, settlement: Settlement) -> None:
        """With SETTLEMENT_WAIT: return once the settlement's group commit is durable."""
        if settlement.done is not None:
            await asyncio.shield(settlement.done)
