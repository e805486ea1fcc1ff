"""Alembic environment. Run through oneapi_app.migrations (or `oneapi migrate`), which passes a connection
and the role of the database: "main" (every table but logs), "log" (logs only) or "both"."""

from alembic import context

from oneapi_app import models

config = context.config
target_metadata = models.metadata


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name in tables_for(config.attributes.get("role", "both"))
    return True


def tables_for(role: str) -> tuple[str, ...]:
    if role == "main":
        return models.MAIN_TABLES
    if role == "log":
        return models.LOG_TABLES
    return models.MAIN_TABLES + models.LOG_TABLES


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise SystemExit("Run migrations with `oneapi migrate`: it reads SQL_DSN and passes the connection.")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=False,
    )
    with context.begin_transaction():
        context.run_migrations(role=config.attributes.get("role", "both"))


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; use `oneapi migrate`.")
run_migrations_online()
