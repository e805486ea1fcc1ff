"""responses: the Responses API answers stored for previous_response_id and GET /v1/responses/{id}
(models/response.py). Main database only; not one-api's.

Revision ID: 0003_responses
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_responses"
down_revision = "0002"
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    if "responses" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("token_id", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(191), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("input", LongText, nullable=False),
        sa.Column("response", LongText, nullable=False),
    )
    op.create_index("idx_responses_user_id", "responses", ["user_id", "created_at"])


def downgrade(role: str = "both") -> None:
    if role not in ("main", "both"):
        return
    op.drop_index("idx_responses_user_id", "responses")
    op.drop_table("responses")
