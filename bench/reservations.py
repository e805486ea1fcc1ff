#!/usr/bin/env python3
"""The ledger's reservation throughput on PostgreSQL or MariaDB, in process (no HTTP): C concurrent
requests, each reserving then refunding N times on one limited token. Shows the group-committed batcher
(services/ledger/batcher.py) alone, which the HTTP benchmark mixes with everything else.

  python bench/reservations.py [--db postgres|mysql] [-c 16] [-n 150]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN = {"postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test", "mysql": "mysql+pymysql://root@127.0.0.1:3306/test"}


async def run(dsn: str, clients: int, rounds: int) -> None:
    from oneapi_app.models import TokenCreate
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.tokens import create_token
    from oneapi_app.settings import load_settings

    runtime = Runtime(load_settings({"DATA_DIR": tempfile.mkdtemp(prefix="oneapi-resbench-"), "SQL_DSN": dsn}))
    async with runtime.lifespan():
        async with runtime.db.session() as session:
            token = await create_token(session, 1, TokenCreate(name="b", remain_quota=10**12, unlimited_quota=False))
        ledger = runtime.ledger

        async def client() -> None:
            for _ in range(rounds):
                ledger.refund(await ledger.reserve(token_id=token.id, unlimited=False, user_id=1, amount=10))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
        assert ledger.batcher is not None
        print(f"{clients * rounds} reservations by {clients} clients in {elapsed:.2f} s = "
              f"{clients * rounds / elapsed:,.0f}/s in {ledger.batcher.batches} batches")
        await ledger.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=sorted(ADMIN), default="postgres")
    ap.add_argument("-c", type=int, default=16)
    ap.add_argument("-n", type=int, default=150)
    a = ap.parse_args()
    from sqlalchemy import create_engine, text

    name = f"oneapi_resbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN[a.db], isolation_level="AUTOCOMMIT")
    quoted = f'"{name}"' if a.db == "postgres" else f"`{name}`"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {quoted}"))
    dsn = (f"postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable" if a.db == "postgres"
           else f"root@tcp(127.0.0.1:3306)/{name}?charset=utf8mb4&parseTime=True&loc=Local")
    try:
        asyncio.run(run(dsn, a.c, a.n))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}" + (" WITH (FORCE)" if a.db == "postgres" else "")))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
