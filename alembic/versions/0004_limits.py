"""Rate limits of tokens (rpm_limit, tpm_limit, concurrency_limit: 0 = the group's default, -1 = none) and the
``locks`` table (leases of periodic jobs across nodes sharing an SQL database: oneapi_app/locks.py).

Idempotent: a one-api database adopted at 0001 may already have the columns (added from the models).

Revision ID: 0004
Revises: 0003_responses
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_responses"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = ("rpm_limit", "tpm_limit", "concurrency_limit")


def upgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    inspector = sa.inspect(op.get_bind())
    present = {c["name"] for c in inspector.get_columns("tokens")}
    for name in TOKEN_COLUMNS:
        if name not in present:
            op.add_column("tokens", sa.Column(name, sa.BigInteger, server_default=sa.text("0")))
    if "locks" not in inspector.get_table_names():
        op.create_table(
            "locks",
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("holder", sa.String(64), nullable=False),
            sa.Column("expires_at", sa.BigInteger, nullable=False),
        )


def downgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    op.drop_table("locks")
    with op.batch_alter_table("tokens") as batch:
        for name in TOKEN_COLUMNS:
            batch.drop_column(name)
