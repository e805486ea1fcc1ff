"""The ledger's crash journal: ledger_holds (quota held by in-flight requests) and ledger_instances (the
processes holding it, with their heartbeat). Main database only; see services/ledger/recovery.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "ledger_holds" not in existing:
        op.create_table(
            "ledger_holds",
            sa.Column("instance", sa.String(32), primary_key=True),
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("token_id", sa.BigInteger, nullable=False),
            sa.Column("user_id", sa.BigInteger, nullable=False),
            sa.Column("unlimited", sa.Boolean, nullable=False, server_default=sa.text("false")),
            sa.Column("amount", sa.BigInteger, nullable=False),
            sa.Column("request_id", sa.String(64), nullable=False, server_default=sa.text("''")),
            sa.Column("created_at", sa.BigInteger, nullable=False),
            sqlite_with_rowid=False,  # one B-tree: a hold dirties one page less per reservation
        )
    if "ledger_instances" not in existing:
        op.create_table(
            "ledger_instances",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("node", sa.String(64), nullable=False, server_default=sa.text("''")),
            sa.Column("started_at", sa.BigInteger, nullable=False),
            sa.Column("heartbeat", sa.BigInteger, nullable=False),
        )


def downgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    op.drop_table("ledger_instances")
    op.drop_table("ledger_holds")
