"""one-api's schema: users, tokens, channels, abilities, logs, redemptions, options.

Table, column and index names and types follow what one-api (GORM) creates, so a database created here
can be read by one-api and the other way round. An existing one-api database is not re-created: it is
detected and stamped at this revision by oneapi_app.migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IndexedStr = sa.Text().with_variant(sa.String(191), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
SQLITE = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    return sa.Column("id", BigInt, primary_key=True, autoincrement=True)


def _d(value: str) -> sa.TextClause:
    return sa.text(value)


def upgrade(role: str = "both") -> None:
    if role in ("main", "both"):
        _main_tables()
    if role in ("log", "both"):
        _log_table()


def _main_tables() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("username", IndexedStr),
        sa.Column("password", LongText, nullable=False),
        sa.Column("display_name", IndexedStr),
        sa.Column("role", sa.Integer, server_default=_d("1")),
        sa.Column("status", sa.Integer, server_default=_d("1")),
        sa.Column("email", IndexedStr),
        sa.Column("github_id", IndexedStr),
        sa.Column("wechat_id", IndexedStr),
        sa.Column("lark_id", IndexedStr),
        sa.Column("oidc_id", IndexedStr),
        sa.Column("access_token", sa.CHAR(32)),
        sa.Column("quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("used_quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("request_count", sa.Integer, server_default=_d("0")),
        sa.Column("group", sa.String(32), server_default=_d("'default'")),
        sa.Column("aff_code", sa.String(32)),
        sa.Column("inviter_id", sa.Integer),
        **SQLITE,
    )
    op.create_index("idx_users_username", "users", ["username"], unique=True)
    for column in ("display_name", "email", "github_id", "wechat_id", "lark_id", "oidc_id", "inviter_id"):
        op.create_index(f"idx_users_{column}", "users", [column])
    op.create_index("idx_users_access_token", "users", ["access_token"], unique=True)
    op.create_index("idx_users_aff_code", "users", ["aff_code"], unique=True)

    op.create_table(
        "tokens",
        _id(),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("key", sa.CHAR(48)),
        sa.Column("status", sa.BigInteger, server_default=_d("1")),
        sa.Column("name", IndexedStr),
        sa.Column("created_time", sa.BigInteger),
        sa.Column("accessed_time", sa.BigInteger),
        sa.Column("expired_time", sa.BigInteger, server_default=_d("-1")),
        sa.Column("remain_quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("unlimited_quota", sa.Boolean, server_default=_d("false")),
        sa.Column("used_quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("models", sa.Text, nullable=True),
        sa.Column("subnet", IndexedStr, server_default=_d("''")),
        **SQLITE,
    )
    op.create_index("idx_tokens_key", "tokens", ["key"], unique=True)
    op.create_index("idx_tokens_name", "tokens", ["name"])

    op.create_table(
        "channels",
        _id(),
        sa.Column("type", sa.BigInteger, server_default=_d("0")),
        sa.Column("key", sa.Text),
        sa.Column("status", sa.BigInteger, server_default=_d("1")),
        sa.Column("name", IndexedStr),
        sa.Column("weight", sa.BigInteger, server_default=_d("0")),
        sa.Column("created_time", sa.BigInteger),
        sa.Column("test_time", sa.BigInteger),
        sa.Column("response_time", sa.BigInteger),
        sa.Column("base_url", IndexedStr, server_default=_d("''")),
        sa.Column("other", LongText, nullable=True),
        sa.Column("balance", sa.Double),
        sa.Column("balance_updated_time", sa.BigInteger),
        sa.Column("models", LongText),
        sa.Column("group", sa.String(32), server_default=_d("'default'")),
        sa.Column("used_quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("model_mapping", sa.String(1024), server_default=_d("''")),
        sa.Column("priority", sa.BigInteger, server_default=_d("0")),
        sa.Column("config", LongText),
        sa.Column("system_prompt", sa.Text, nullable=True),
        **SQLITE,
    )
    op.create_index("idx_channels_name", "channels", ["name"])

    op.create_table(
        "abilities",
        sa.Column("group", sa.String(32), primary_key=True, autoincrement=False),
        sa.Column("model", IndexedStr, primary_key=True, autoincrement=False),
        sa.Column("channel_id", BigInt, primary_key=True, autoincrement=False),
        sa.Column("enabled", sa.Boolean),
        sa.Column("priority", sa.BigInteger, server_default=_d("0")),
    )
    op.create_index("idx_abilities_channel_id", "abilities", ["channel_id"])
    op.create_index("idx_abilities_priority", "abilities", ["priority"])

    op.create_table(
        "redemptions",
        _id(),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("key", sa.CHAR(32)),
        sa.Column("status", sa.BigInteger, server_default=_d("1")),
        sa.Column("name", IndexedStr),
        sa.Column("quota", sa.BigInteger, server_default=_d("100")),
        sa.Column("created_time", sa.BigInteger),
        sa.Column("redeemed_time", sa.BigInteger),
        **SQLITE,
    )
    op.create_index("idx_redemptions_key", "redemptions", ["key"], unique=True)
    op.create_index("idx_redemptions_name", "redemptions", ["name"])

    op.create_table(
        "options",
        sa.Column("key", IndexedStr, primary_key=True, autoincrement=False),
        sa.Column("value", LongText),
    )


def _log_table() -> None:
    op.create_table(
        "logs",
        _id(),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger),
        sa.Column("type", sa.BigInteger),
        sa.Column("content", LongText),
        sa.Column("username", IndexedStr, server_default=_d("''")),
        sa.Column("token_name", IndexedStr, server_default=_d("''")),
        sa.Column("model_name", IndexedStr, server_default=_d("''")),
        sa.Column("quota", sa.BigInteger, server_default=_d("0")),
        sa.Column("prompt_tokens", sa.BigInteger, server_default=_d("0")),
        sa.Column("completion_tokens", sa.BigInteger, server_default=_d("0")),
        sa.Column("channel_id", sa.BigInteger),
        sa.Column("request_id", IndexedStr, server_default=_d("''")),
        sa.Column("elapsed_time", sa.BigInteger, server_default=_d("0")),
        sa.Column("is_stream", sa.Boolean, server_default=_d("false")),
        sa.Column("system_prompt_reset", sa.Boolean, server_default=_d("false")),
        **SQLITE,
    )
    op.create_index("idx_logs_user_id", "logs", ["user_id"])
    op.create_index("idx_created_at_type", "logs", ["created_at", "type"])
    op.create_index("idx_logs_token_name", "logs", ["token_name"])
    op.create_index("idx_logs_model_name", "logs", ["model_name"])
    op.create_index("index_username_model_name", "logs", ["model_name", "username"])
    op.create_index("idx_logs_channel_id", "logs", ["channel_id"])


def downgrade(role: str = "both") -> None:
    if role in ("log", "both"):
        op.drop_table("logs")
    if role in ("main", "both"):
        for table in ("options", "redemptions", "abilities", "channels", "tokens", "users"):
            op.drop_table(table)
