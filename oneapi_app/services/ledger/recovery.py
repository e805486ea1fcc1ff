"""Books after a crash: quota held by requests that died with their process is found and given back.

Every reservation writes a journal row (``ledger_holds``: instance, seq, token, user, amount, request id) in
its own transaction, and the settlement deletes it in the settlement's transaction. So after kill -9 the
journal holds exactly the reservations whose settlement never committed: requests that were in flight, and
the last group commit (at most FLUSH_INTERVAL of settled requests) that did not make it to the database.

Whose holds are dead? Several nodes may share one PostgreSQL/MySQL database, so a hold is released only when
its owner is certainly gone:

* Every process is an *instance* (a random id) registered in ``ledger_instances`` with a heartbeat it bumps
  every HEARTBEAT seconds. An instance whose heartbeat is older than LEASE seconds is dead: any node releases
  its holds (checked at start and at every heartbeat). This needs the nodes' clocks to agree within the
  lease (NTP); a node whose instance row was removed registers again at its next heartbeat.
* A restart of the same node must not wait for the lease: each data directory has a stable *node id*
  (``DATA_DIR/node_id``) and a lock on ``DATA_DIR/node_id.lock`` (flock, released by the kernel when the
  process dies, also on kill -9). A process that holds the lock is the only live process of its node, so at
  start every other instance of that node is dead and is released at once. A process that cannot take the
  lock (another one runs on the same data directory) registers without a node id and relies on the lease.
* Holds whose instance has no row (removed while its owner was still writing) are released the same way.

Releasing is a settlement of 0 (rules.settle_plan, checked): the token and user get the amount back, the
journal row is deleted and a system log row says so, in one transaction. Two nodes recovering the same
instance cannot both release a hold: the DELETE of its journal row decides, and the loser rolls back. If an
owner was wrongly taken for dead (a node cut off for longer than the lease) and settles later, its
settlement finds the journal row gone and charges the whole actual cost: the books still add up.

With a separate log database (LOG_SQL_DSN) a settlement commits its log rows first; a hold whose request
has a consume row there is settled from that row (charged what the row says), not released.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

from sqlalchemy import bindparam, text

from ...db import Database
from .rules import Hold, Settlement
from .settlements import SettlementWriter

log = logging.getLogger(__name__)
HEARTBEAT = 10  # seconds between heartbeats (and checks for dead instances)
LEASE = 60  # seconds without a heartbeat after which an instance is dead

_HOLD_COLUMNS = "instance, seq, token_id, user_id, unlimited, amount, request_id, created_at"


def claim_node(data_dir: Path) -> tuple[str, int | None]:
    """The data directory's stable node id and the open lock file holding it, or ("", None) when another
    live process holds the lock (or the platform has no flock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        return "", None
    data_dir.mkdir(parents=True, exist_ok=True)
    id_file = data_dir / "node_id"
    if not id_file.is_file():
        id_file.write_text(uuid.uuid4().hex + "\n")
    node = id_file.read_text().strip()[:64]
    fd = os.open(data_dir / "node_id.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        log.warning("another process uses %s: holds of this process are recovered after the %d s lease",
                    data_dir, LEASE)
        return "", None
    return node, fd


class Recovery:
    def __init__(self, db: Database, settlements: SettlementWriter, instance: str, node: str,
                 lease: float = LEASE) -> None:
        self.db = db
        self.settlements = settlements
        self.instance = instance
        self.node = node
        self.lease = lease

    async def register(self) -> None:
        now = int(time.time())
        async with self.db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO ledger_instances (id, node, started_at, heartbeat) "
                                    "VALUES (:i, :n, :t, :t)"), {"i": self.instance, "n": self.node, "t": now})

    async def heartbeat(self) -> None:
        async with self.db.engine.begin() as conn:
            result = await conn.execute(text("UPDATE ledger_instances SET heartbeat = :t WHERE id = :i"),
                                        {"t": int(time.time()), "i": self.instance})
        if result.rowcount == 0:  # taken for dead by another node: be alive again
            log.warning("this process was taken for dead by another node; registering again")
            await self.register()

    async def tick(self) -> None:
        await self.heartbeat()
        await self.recover(at_start=False)

    async def unregister(self) -> None:
        """At a clean shutdown (after the last flush): no holds are left, so the row can go."""
        async with self.db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM ledger_instances WHERE id = :i AND NOT EXISTS "
                                    "(SELECT 1 FROM ledger_holds WHERE instance = :i)"), {"i": self.instance})

    async def dead_instances(self, at_start: bool) -> list[str]:
        async with self.db.engine.connect() as conn:
            # Holds first, then instances: an instance with a visible hold registered before it.
            holding = set((await conn.execute(text("SELECT DISTINCT instance FROM ledger_holds"))).scalars())
            rows = (await conn.execute(text("SELECT id, node, heartbeat FROM ledger_instances"))).all()
        cutoff = time.time() - self.lease
        known = {row[0] for row in rows}
        dead = {iid for iid, node, beat in rows
                if iid != self.instance and (beat < cutoff or (at_start and self.node and node == self.node))}
        dead |= holding - known - {self.instance}
        return sorted(dead)

    async def recover(self, at_start: bool) -> int:
        """Release (or settle from their log rows) the holds of dead instances; return how many."""
        released = 0
        for instance in await self.dead_instances(at_start):
            released += await self._recover_instance(instance)
        return released

    async def _recover_instance(self, instance: str) -> int:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(text(f"SELECT {_HOLD_COLUMNS} FROM ledger_holds WHERE instance = :i "
                                            "ORDER BY seq"), {"i": instance})).all()
        holds = [Hold(token_id=r.token_id, unlimited=bool(r.unlimited), user_id=r.user_id, amount=r.amount,
                      instance=r.instance, seq=r.seq, request_id=r.request_id, created_at=r.created_at)
                 for r in rows]
        charged = await self._charged(holds)
        batch = []
        for hold in holds:
            found = charged.get(hold.request_id) if hold.request_id else None
            if found is not None:  # its log row made it (LOG_SQL_DSN): settle as the row says
                quota, channel_id = found
                batch.append(Settlement(hold, channel_id, quota, None, recovered=True, counted=True,
                                        log_written=True))
            else:
                batch.append(Settlement(hold, 0, 0, None, recovered=True, note=(
                    f"请求 {hold.request_id or '-'} 所在的进程意外退出，预扣的 {hold.amount} 额度已退还 "
                    f"(released after a crash: the process serving this request died)")))
        if batch:
            await self.settlements.write_now(batch)
            log.warning("released %d quota holds (%d quota) of the dead process %s", len(batch),
                        sum(h.amount for h in holds), instance)
        async with self.db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM ledger_instances WHERE id = :i AND NOT EXISTS "
                                    "(SELECT 1 FROM ledger_holds WHERE instance = :i)"), {"i": instance})
        return len(batch)

    async def _charged(self, holds: list[Hold]) -> dict[str, tuple[int, int]]:
        """request id -> (quota, channel) of consume rows in a separate log database."""
        if self.db.log_engine is self.db.engine:
            return {}  # same database: a settled hold has no journal row left
        ids = sorted({h.request_id for h in holds if h.request_id})
        if not ids:
            return {}
        stmt = text("SELECT request_id, quota, channel_id FROM logs WHERE type = 2 AND request_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True))
        async with self.db.log_engine.connect() as conn:
            return {r[0]: (r[1], r[2]) for r in (await conn.execute(stmt, {"ids": ids})).all()}
