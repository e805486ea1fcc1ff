"""LOG_FORMAT=json: every line the process writes is one JSON object (time, level, logger, message, and the
access log's fields: request_id, method, path, status, duration_ms, client_ip; a traceback in ``exception``,
a stack in ``stack``), for log shippers.

Every writer goes through the root logger's handlers, formatted here: our loggers, uvicorn's (cli.py passes
``log_config=None``, so "uvicorn.error" and "uvicorn.access" propagate instead of printing their own text),
Python warnings (``logging.captureWarnings``) and uncaught exceptions, in the main thread and in others
(``sys.excepthook``, ``threading.excepthook``, ``sys.unraisablehook``).

``oneapi serve`` (and ``oneapi build``) also replace ``sys.stdout`` and ``sys.stderr`` with ``LineLog`` streams
(``capture_output``): what libraries print -- Reflex's console (in its own JSON mode, REFLEX_LOG_JSON, so
a message is one line, not a wrapped Rich rendering), a stray ``print`` -- becomes a record of the
"stdout" or "stderr" logger (a traceback one record, with it in ``exception``); a line that is a JSON object
already passes as it is, Reflex's JSON records re-logged in this shape."""

from __future__ import annotations

import atexit
import io
import logging
import sys
import threading
import time
from typing import TextIO

import orjson

ACCESS_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client_ip")
REFLEX_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "success": logging.INFO, "warning": logging.WARNING,
                 "error": logging.ERROR, "critical": logging.CRITICAL}
_enabled = False


def enabled() -> bool:
    """True once this process logs JSON lines (``route_everything_through_logging`` ran)."""
    return _enabled


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
    global _enabled
    _enabled = True
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


class LineLog(io.TextIOBase):
    """A stand-in for ``sys.stdout`` or ``sys.stderr`` whose lines become log records (see the module's doc).
    The log's handlers keep writing to the real streams; a write made while this stream is handing a record to
    them (a handler's own error report) goes straight to the real stream."""

    def __init__(self, name: str, level: int, raw: TextIO) -> None:
        super().__init__()
        self.name, self.level, self.raw = name, level, raw
        self._pending = ""
        self._traceback: list[str] = []
        self._lock = threading.RLock()
        self._inside = threading.local()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:  # (a child process given this stream writes to the real one)
        return self.raw.fileno()

    def write(self, text: str) -> int:
        if getattr(self._inside, "on", False):
            return self.raw.write(text)
        with self._lock:
            *lines, self._pending = (self._pending + text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
            for line in lines:
                self._line(line)
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def finish(self) -> None:
        """Log what is left (a last line without its newline, a traceback being collected)."""
        with self._lock:
            if self._pending:
                self._line(self._pending)
                self._pending = ""
            if self._traceback:
                self._emit(self.name, logging.ERROR, self._traceback[-1].strip(), "\n".join(self._traceback))
                self._traceback = []

    def _line(self, line: str) -> None:
        if self._traceback:
            self._traceback.append(line)
            if line.strip() and not line[0].isspace():  # the exception's line ends the traceback
                self._emit(self.name, logging.ERROR, line.strip(), "\n".join(self._traceback))
                self._traceback = []
            return
        if line.startswith("Traceback (most recent call last):"):
            self._traceback.append(line)
            return
        if not line.strip():
            return
        if line.startswith("{"):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            if isinstance(entry, dict):
                if "timestamp" in entry and "time" not in entry and isinstance(entry.get("message"), str):
                    level = REFLEX_LEVELS.get(str(entry.get("level")), logging.INFO)  # one of Reflex's records
                    exception = entry.get("exception")
                    self._emit(str(entry.get("logger") or self.name), level, entry["message"],
                               exception if isinstance(exception, str) else None)
                else:  # a JSON line already
                    self.raw.write(line + "\n")
                    self.raw.flush()
                return
        self._emit(self.name, self.level, line)

    def _emit(self, name: str, level: int, message: str, exception: str | None = None) -> None:
        logger = logging.getLogger(name)
        if not logger.isEnabledFor(level):
            return
        record = logger.makeRecord(name, level, "(output)", 0, message, (), None)
        record.exc_text = exception
        self._inside.on = True
        try:
            logger.handle(record)
        finally:
            self._inside.on = False


def capture_output() -> None:
    """Send what is written to ``sys.stdout`` and ``sys.stderr`` through the log from now on (JSON mode)."""
    streams = []
    for attr, level in (("stdout", logging.INFO), ("stderr", logging.WARNING)):
        current = getattr(sys, attr)
        if current is None or isinstance(current, LineLog):
            continue
        stream = LineLog(attr, level, current)
        setattr(sys, attr, stream)
        streams.append(stream)
    for stream in streams:
        atexit.register(stream.finish)
