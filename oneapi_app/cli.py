"""The ``oneapi`` command: serve, migrate, copy-db, build, version."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .settings import Settings, SettingsError, load_settings


def _configure_logging(settings: Settings) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_dir:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        name = "oneapi.log" if settings.only_one_log_file else time.strftime("oneapi-%Y%m%d.log")
        handlers.append(logging.FileHandler(settings.log_dir / name, encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    if settings.log_format == "json":
        from .logjson import route_everything_through_logging

        route_everything_through_logging(handlers)
    # Alembic's own chatter; the runtime logs one line per database migrated.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _fail(settings: Settings, text: str) -> None:
    """Why serve cannot start: one line on stderr (a JSON log line with LOG_FORMAT=json)."""
    if settings.log_format == "json":
        logging.getLogger("oneapi").error(text)
    else:
        print(f"oneapi: {text}", file=sys.stderr)


def _apply_tz(settings: Settings) -> None:
    if settings.tz:
        os.environ["TZ"] = settings.tz
        time.tzset()


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    if getattr(args, "log_dir", None):
        overrides["log_dir"] = Path(args.log_dir).resolve()
    return load_settings(config_file=args.config, **overrides)


def _capture_output(settings: Settings) -> None:
    """LOG_FORMAT=json: what is printed (Reflex's console, its build's messages) becomes JSON lines too."""
    if settings.log_format == "json":
        from .logjson import capture_output

        os.environ.pop("REFLEX_MANAGED_LOGGING", None)  # Reflex's records go to our log, not to its own sinks
        capture_output()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _apply_tz(settings)
    _configure_logging(settings)
    _capture_output(settings)
    # The server process (and Reflex's config) read the same settings through these two variables.
    os.environ["PORT"] = str(settings.port)
    if args.config:
        os.environ["ONEAPI_CONFIG"] = str(Path(args.config).resolve())

    import uvicorn

    from .migrations import has_schema

    if not settings.is_master and not has_schema(settings):
        _fail(settings, f"the database {settings.database.display} has no One API schema: start the master node "
                        "first or run `oneapi migrate`")
        return 2
    from .workers import worker_count

    count = worker_count(args.workers if args.workers is not None else settings.workers)
    if count > 1 and not args.api_only and not (settings.redis_conn_string and not settings.redis_master_name):
        # Reflex keeps a dashboard session's state in the memory of the process its websocket reached (and
        # on disk behind it): several processes would each hold their own copy. Shared state needs Redis.
        logging.getLogger("oneapi").warning(
            "%d workers asked, serving with 1: dashboard sessions can only be shared between workers through "
            "Redis (set REDIS_CONN_STRING to a redis:// URL, or run the relay alone with --api-only)", count)
        count = 1
    if args.api_only:
        app_spec: tuple[Callable[..., Any] | str, bool] | None = None
    else:
        from . import frontend

        if not frontend.is_built():
            logging.getLogger("oneapi").info("building the dashboard (first start, or its sources changed)...")
            frontend.build(settings.port)
        redis_url = "" if settings.redis_master_name else settings.redis_conn_string
        os.environ.update(frontend.serving_env(settings.port, settings.data_dir, redis_url))
        if settings.log_format == "json":  # Reflex's console: one JSON line per message (re-logged: logjson.py)
            os.environ["REFLEX_LOG_JSON"] = "true"
        os.chdir(frontend.PROJECT_ROOT)
        app_spec = ("oneapi_app.oneapi_app:server_app", True)

    def serve(sockets: list | None = None) -> int:
        app: Callable[..., Any] | str
        if app_spec is None:
            from .api import create_app
            from .runtime import Runtime

            app, factory = create_app(Runtime(settings), own_lifespan=True), False
        else:
            app, factory = app_spec
        config = uvicorn.Config(
            app,
            factory=factory,
            host=args.host,
            port=settings.port,
            lifespan="on",
            log_level="debug" if settings.debug else "info",
            timeout_graceful_shutdown=settings.shutdown_timeout,
            timeout_keep_alive=settings.keep_alive_timeout,
            access_log=settings.debug,
            log_config=None,  # uvicorn's loggers propagate to ours (_configure_logging: text or JSON lines, files)
            ws="websockets-sansio",
            http=http_protocol(),
            proxy_headers=False,  # the caller's address has one rule: oneapi_app/netaddr.py (TRUSTED_PROXIES)
        )
        server = _graceful_server_class()(config)
        server.run(sockets=sockets)
        return 0 if server.started else 1

    if count == 1:
        return serve()
    return _serve_workers(settings, args.host, count, serve)


async def _ensure_root(settings: Settings) -> None:
    from .db import Database
    from .services.users import ensure_root_user

    db = Database.open(settings)
    try:
        async with db.session() as session:
            await ensure_root_user(session, settings)
    finally:
        await db.close()


def _serve_workers(settings: Settings, host: str, count: int, serve: Callable[[list], int]) -> int:
    """The master of ``--workers N``: migrate once, bind the port, fork the workers (workers.py)."""
    from .migrations import migrate
    from .settings import ensure_session_secret
    from .workers import Supervisor, bind_sockets

    settings = ensure_session_secret(settings)  # created once, read by every worker
    if settings.is_master:  # once, before the workers start (they would race to migrate, to create root)
        for report in migrate(settings):
            logging.getLogger("oneapi").info("migrations: %s", report)
        asyncio.run(_ensure_root(settings))  # the loop and its threads end here, before any fork
    try:
        sockets = bind_sockets(host, settings.port, count)
    except OSError as exc:
        _fail(settings, f"cannot listen on {host}:{settings.port}: {exc.strerror}")
        return 1
    logging.getLogger("oneapi").info("serving on %s:%d with %d worker processes", host, settings.port, count)
    from .metrics import shared_directory

    with shared_directory(settings.enable_prometheus) as metrics_dir:  # /metrics answers for every worker
        if metrics_dir:
            logging.getLogger("oneapi").info("the workers' metrics are merged in %s", metrics_dir)
        return Supervisor(sockets, lambda sock: serve([sock]), settings.shutdown_timeout).run()


def http_protocol() -> type:
    """uvicorn's httptools protocol, writing a response's head with its body (http_protocol.py)."""
    from .http_protocol import Protocol

    return Protocol


def _graceful_server_class():
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """SIGTERM/SIGINT: stop accepting, let in-flight requests finish, run the lifespan shutdown (which
        flushes background writers), then exit 0 -- uvicorn itself would re-raise the signal (exit 143)."""

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _configure_logging(settings)
    from .migrations import migrate

    for report in migrate(settings):
        print(report)
    return 0


def cmd_copy_db(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _configure_logging(settings)
    from .copydb import CopyError, copy_database

    try:
        report = copy_database(settings, args.to, to_log=args.log_to or "", source=args.source or "",
                               source_log=args.log_from or "", echo=print)
    except CopyError as exc:
        print(f"oneapi copy-db: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.summary()))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.log_format == "json":  # (text: the build's own lines, as they always were)
        _configure_logging(settings)
        _capture_output(settings)
    from . import frontend

    frontend.build(settings.port)
    frontend.say(f"dashboard built in {frontend.WEB_DIR / 'build' / 'client'}", to=sys.stdout)
    return 0


def cmd_version(_args: argparse.Namespace) -> int:
    print(__version__)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oneapi", description="One API: an OpenAI-compatible LLM gateway.")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="FILE", help="KEY=VALUE settings file (default: <data dir>/oneapi.env)")
        return p

    serve = with_config(sub.add_parser("serve", help="run the appliance (dashboard + API on one port)"))
    serve.add_argument("--port", type=int, help="listen port (default: PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    serve.add_argument("--api-only", action="store_true", help="relay and /api only, no dashboard")
    serve.add_argument("--log-dir", help="also write logs to files in this directory")
    serve.add_argument("--workers", type=int, metavar="N",
                       help="processes serving the port (default: WORKERS, or the number of cores up to 4)")
    serve.set_defaults(func=cmd_serve)
    with_config(sub.add_parser("migrate", help="bring the database schema to the latest version")).set_defaults(func=cmd_migrate)
    copy = with_config(sub.add_parser("copy-db", help="copy this install into an empty PostgreSQL or MySQL database"))
    copy.add_argument("--to", required=True, metavar="DSN", help="the empty target database (SQL_DSN forms)")
    copy.add_argument("--log-to", metavar="DSN", help="a separate target for the logs table (default: --to)")
    copy.add_argument("--from", dest="source", metavar="DSN|FILE", help="source (default: SQL_DSN, or the SQLite file)")
    copy.add_argument("--log-from", metavar="DSN|FILE", help="source of the logs with --from (default: --from)")
    copy.set_defaults(func=cmd_copy_db)
    build = with_config(sub.add_parser("build", help="build the dashboard frontend"))
    build.add_argument("--port", type=int, help="the port the appliance will publish (default: PORT or 3000)")
    build.set_defaults(func=cmd_build)
    sub.add_parser("version", help="print the version").set_defaults(func=cmd_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"oneapi: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
