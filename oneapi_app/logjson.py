"""LOG_FORMAT=json: every line the process writes is one JSON object (time, level, logger, message, and the
access log's fields: request_id, method, path, status, duration_ms, client_ip; a traceback in ``exception``,
a stack in ``stack``), for log shippers.

Every writer goes through the root logger's handlers, formatted here: our loggers, uvicorn's (cli.py passes
``log_config=None``, so "uvicorn.error" and "uvicorn.access" propagate instead of printing their own text),
Python warnings (``logging.captureWarnings``) and uncaught exceptions, in the main thread and in others
(``sys.excepthook``, ``threading.excepthook``, ``sys.unraisablehook``)."""

from __future__ import annotations

import logging
import sys
import threading
import time

import orjson

ACCESS_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client_ip")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def route_everything_through_logging(handlers: list[logging.Handler]) -> None:
    """JSON on ``handlers`` (the root logger's), and the writers that bypass logging sent through it."""
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
    logging.captureWarnings(True)
    crashes = logging.getLogger("oneapi.crash")

    def excepthook(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crashes.critical("uncaught exception", exc_info=(kind, value, tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        crashes.error("uncaught exception in thread %s", name,
                      exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]

    def unraisablehook(unraisable) -> None:
        exc = unraisable.exc_value
        crashes.error("%s: %r", unraisable.err_msg or "exception ignored", unraisable.object,
                      exc_info=(unraisable.exc_type, exc, unraisable.exc_traceback) if exc is not None else None)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    sys.unraisablehook = unraisablehook
