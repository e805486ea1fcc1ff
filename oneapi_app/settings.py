"""The only reader of configuration.

Values come from environment variables with one-api's names, optionally from one KEY=VALUE file
(``--config FILE``, default ``<data dir>/oneapi.env`` when it exists). Precedence, highest first:
explicit overrides (command-line flags), the environment, the file, the defaults below.

A bad value raises :class:`SettingsError` whose message is one line naming the setting; the CLI
prints it and exits without a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .netaddr import Network, parse_networks

DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"

DbKind = Literal["sqlite", "postgresql", "mysql"]


class SettingsError(ValueError):
    """A setting has a value we cannot use. ``str(err)`` is one line naming the setting."""


@dataclass(frozen=True)
class DatabaseURL:
    """A database location, as SQLAlchemy URLs for the async (app) and sync (migrations) drivers."""

    kind: DbKind
    async_url: str
    sync_url: str
    display: str  # password masked, safe for logs

    def __repr__(self) -> str:  # never leak the password through repr()
        return f"DatabaseURL({self.kind}, {self.display})"


@dataclass(frozen=True)
class Settings:
    """Every setting of the appliance, typed. See README's table for meanings."""

    port: int = 3000
    data_dir: Path = Path("data")
    config_file: Path | None = None
    sql_dsn: str = ""
    sqlite_path: Path = Path("data/one-api.db")
    sqlite_busy_timeout: int = 3000
    log_sql_dsn: str = ""
    sql_max_idle_conns: int = 100
    sql_max_open_conns: int = 1000
    sql_max_lifetime: int = 60
    redis_conn_string: str = ""
    redis_master_name: str = ""
    redis_password: str = ""
    redis_key_prefix: str = ""  # prepended to every Redis key (several appliances or tests on one Redis)
    session_secret: str = field(default="", repr=False)
    sync_frequency: int = 600
    memory_cache_enabled: bool = False
    node_type: Literal["master", "slave"] = "master"
    frontend_base_url: str = ""
    channel_test_frequency: float = 0  # minutes (fractions allowed: 0.5 = every 30 s)
    polling_interval: float = 0.0
    batch_update_enabled: bool = False
    batch_update_interval: int = 5
    settlement_wait: bool = False  # a response waits for its settlement's group commit (zero loss on kill -9)
    relay_timeout: int = 0
    relay_proxy: str = ""
    relay_max_response_size: int = 64  # MB of an upstream answer the relay buffers (past it: 502)
    max_request_body_size: int = 32  # MB of a relay request body (past it: 413)
    user_content_request_proxy: str = ""
    user_content_request_timeout: int = 30
    global_api_rate_limit: int = 480
    global_web_rate_limit: int = 240
    github_base_url: str = "https://github.com"  # GitHub OAuth endpoints (overridable for GitHub Enterprise)
    github_api_base_url: str = "https://api.github.com"
    critical_rate_limit: int = 20  # login/register/reset/oauth per IP per 20 minutes (0 = off)
    trusted_proxies: tuple[Network, ...] = parse_networks(DEFAULT_TRUSTED_PROXIES)  # whose X-Forwarded-For is believed
    enable_metric: bool = False
    metric_queue_size: int = 10
    metric_success_rate_threshold: float = 0.8
    enable_prometheus: bool = False  # GET /metrics (Prometheus text; oneapi_app/metrics.py)
    log_format: Literal["text", "json"] = "text"  # log lines: text, or one JSON object per line
    access_log: bool = True  # one line per HTTP request (oneapi_app.access, middleware.AccessLogMiddleware)
    initial_root_token: str = field(default="", repr=False)
    initial_root_access_token: str = field(default="", repr=False)
    gemini_version: str = "v1beta"  # default Gemini API version (a channel's config api_version wins)
    gemini_safety_setting: str = ""  # a threshold sent for every harm category; "" = Google's defaults
    theme: str = "default"
    language: str = "zh"  # of the error texts on /v1 and /api (oneapi_app/i18n): zh (one-api's texts) or en
    enforce_include_usage: bool = False
    test_prompt: str = "Output only your specific model name with no additional text."
    debug: bool = False
    debug_sql: bool = False
    tz: str = ""
    log_dir: Path | None = None
    only_one_log_file: bool = False
    shutdown_timeout: int = 30
    # Seconds an idle client connection is kept open. Longer than the pools of common clients (httpx and the
    # openai/anthropic SDKs 5 s, aiohttp 15 s, nginx upstream 60 s), so the client always closes first: a
    # server closing an idle connection while a request is on its way there gives that client a reset.
    keep_alive_timeout: int = 75
    workers: int = 0  # processes serving the port (`oneapi serve`); 0 = min(cores, 4): see cli.py

    # Derived.
    @property
    def database(self) -> DatabaseURL:
        return parse_dsn(self.sql_dsn, sqlite_path=self.sqlite_path, busy_timeout=self.sqlite_busy_timeout)

    @property
    def log_database(self) -> DatabaseURL | None:
        if not self.log_sql_dsn:
            return None
        return parse_dsn(self.log_sql_dsn, sqlite_path=self.sqlite_path, busy_timeout=self.sqlite_busy_timeout,
                         name="LOG_SQL_DSN")

    @property
    def is_master(self) -> bool:
        return self.node_type == "master"

    @property
    def redis_enabled(self) -> bool:
        return bool(self.redis_conn_string)


# --- the table of settings: env name -> (field, parser) -------------------------------------------

def _int(name: str, raw: str, *, minimum: int | None = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _port(name: str, raw: str) -> int:
    value = _int(name, raw, minimum=1)
    if value > 65535:
        raise SettingsError(f"{name}: must be a TCP port (1-65535), got {value}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name}: must be >= 0, got {value}")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _networks(name: str, raw: str) -> tuple[Network, ...]:
    try:
        return parse_networks(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc} (expected a comma list like 127.0.0.1,10.0.0.0/8)") from None


def _secret(limit: int):
    """A key stored in a fixed-width column (one-api's sizes); the message never shows the value."""

    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        if len(value) > limit:
            raise SettingsError(f"{name}: at most {limit} characters, got {len(value)}")
        return value

    return parse


def _node_type(name: str, raw: str) -> str:
    value = raw.strip().lower() or "master"
    if value not in ("master", "slave"):
        raise SettingsError(f"{name}: expected 'master' or 'slave', got {raw!r}")
    return value


def _session_secret(name: str, raw: str) -> str:
    # one-api ignores the documented placeholder value.
    value = raw.strip()
    return "" if value == "random_string" else value


def _language(name: str, raw: str) -> str:
    value = raw.strip().lower().replace("_", "-")
    for lang in ("zh", "en"):  # zh, zh-CN, en-US... are accepted
        if value == lang or value.startswith(lang + "-"):
            return lang
    raise SettingsError(f"{name}: expected zh or en, got {raw!r}")


def _log_format(name: str, raw: str) -> str:
    value = raw.strip().lower() or "text"
    if value not in ("text", "json"):
        raise SettingsError(f"{name}: expected text or json, got {raw!r}")
    return value


def _url(name: str, raw: str) -> str:
    value = raw.strip()
    if value and not urlsplit(value).scheme:
        raise SettingsError(f"{name}: expected a URL like http://host:port, got {raw!r}")
    return value


_FIELDS: dict[str, tuple[str, object]] = {
    "PORT": ("port", _port),
    "SQL_DSN": ("sql_dsn", _str),
    "SQLITE_BUSY_TIMEOUT": ("sqlite_busy_timeout", _int),
    "LOG_SQL_DSN": ("log_sql_dsn", _str),
    "SQL_MAX_IDLE_CONNS": ("sql_max_idle_conns", _int),
    "SQL_MAX_OPEN_CONNS": ("sql_max_open_conns", _int),
    "SQL_MAX_LIFETIME": ("sql_max_lifetime", _int),
    "REDIS_CONN_STRING": ("redis_conn_string", _str),
    "REDIS_MASTER_NAME": ("redis_master_name", _str),
    "REDIS_PASSWORD": ("redis_password", _str),
    "REDIS_KEY_PREFIX": ("redis_key_prefix", _str),
    "SESSION_SECRET": ("session_secret", _session_secret),
    "SYNC_FREQUENCY": ("sync_frequency", lambda n, r: _int(n, r, minimum=1)),
    "MEMORY_CACHE_ENABLED": ("memory_cache_enabled", _bool),
    "NODE_TYPE": ("node_type", _node_type),
    "FRONTEND_BASE_URL": ("frontend_base_url", _url),
    "CHANNEL_TEST_FREQUENCY": ("channel_test_frequency", _float),
    "POLLING_INTERVAL": ("polling_interval", _float),
    "BATCH_UPDATE_ENABLED": ("batch_update_enabled", _bool),
    "BATCH_UPDATE_INTERVAL": ("batch_update_interval", lambda n, r: _int(n, r, minimum=1)),
    "SETTLEMENT_WAIT": ("settlement_wait", _bool),
    "RELAY_TIMEOUT": ("relay_timeout", _int),
    "RELAY_PROXY": ("relay_proxy", _url),
    "RELAY_MAX_RESPONSE_SIZE": ("relay_max_response_size", lambda n, r: _int(n, r, minimum=1)),
    "MAX_REQUEST_BODY_SIZE": ("max_request_body_size", lambda n, r: _int(n, r, minimum=1)),
    "USER_CONTENT_REQUEST_PROXY": ("user_content_request_proxy", _url),
    "USER_CONTENT_REQUEST_TIMEOUT": ("user_content_request_timeout", _int),
    "GLOBAL_API_RATE_LIMIT": ("global_api_rate_limit", _int),
    "GLOBAL_WEB_RATE_LIMIT": ("global_web_rate_limit", _int),
    "CRITICAL_RATE_LIMIT": ("critical_rate_limit", _int),
    "TRUSTED_PROXIES": ("trusted_proxies", _networks),
    "GITHUB_BASE_URL": ("github_base_url", _url),
    "GITHUB_API_BASE_URL": ("github_api_base_url", _url),
    "ENABLE_METRIC": ("enable_metric", _bool),
    "METRIC_QUEUE_SIZE": ("metric_queue_size", lambda n, r: _int(n, r, minimum=1)),
    "METRIC_SUCCESS_RATE_THRESHOLD": ("metric_success_rate_threshold", _float),
    "ENABLE_PROMETHEUS": ("enable_prometheus", _bool),
    "LOG_FORMAT": ("log_format", _log_format),
    "ACCESS_LOG": ("access_log", _bool),
    "INITIAL_ROOT_TOKEN": ("initial_root_token", _secret(48)),  # tokens.key is CHAR(48)
    "INITIAL_ROOT_ACCESS_TOKEN": ("initial_root_access_token", _secret(32)),  # users.access_token is CHAR(32)
    "GEMINI_VERSION": ("gemini_version", _str),
    "GEMINI_SAFETY_SETTING": ("gemini_safety_setting", _str),
    "THEME": ("theme", _str),
    "LANGUAGE": ("language", _language),
    "ENFORCE_INCLUDE_USAGE": ("enforce_include_usage", _bool),
    "TEST_PROMPT": ("test_prompt", _str),
    "DEBUG": ("debug", _bool),
    "DEBUG_SQL": ("debug_sql", _bool),
    "TZ": ("tz", _str),
    "ONLY_ONE_LOG_FILE": ("only_one_log_file", _bool),
    "SHUTDOWN_TIMEOUT": ("shutdown_timeout", _int),
    "KEEP_ALIVE_TIMEOUT": ("keep_alive_timeout", lambda n, r: _int(n, r, minimum=1)),
    "WORKERS": ("workers", lambda n, r: _int(n, r, minimum=0)),
}
# Paths are resolved against the data directory, so they are handled apart.
_PATH_FIELDS = {"DATA_DIR", "SQLITE_PATH", "LOG_DIR"}
SETTING_NAMES = tuple(sorted({*_FIELDS, *_PATH_FIELDS}))

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_config_file(path: Path) -> dict[str, str]:
    """Parse a KEY=VALUE file: ``#`` comments, blank lines, optional quotes and ``export``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"--config: cannot read {path}: {exc.strerror or exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SettingsError(f"--config: {path}:{number}: expected KEY=VALUE, got {line.strip()!r}")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
    **overrides: object,
) -> Settings:
    """Build the Settings from overrides > environment > config file > defaults."""
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("DATA_DIR") or "data").expanduser()

    file_values: dict[str, str] = {}
    chosen = Path(config_file).expanduser() if config_file else None
    if chosen is None and (data_dir / "oneapi.env").is_file():
        chosen = data_dir / "oneapi.env"
    if chosen is not None:
        file_values = read_config_file(chosen)
        if "DATA_DIR" in file_values and "DATA_DIR" not in env:
            data_dir = Path(file_values["DATA_DIR"]).expanduser()
    merged = {**file_values, **{k: v for k, v in env.items() if k in _FIELDS or k in _PATH_FIELDS}}

    data_dir = data_dir.resolve()
    values: dict[str, object] = {"data_dir": data_dir, "config_file": chosen}
    for name, (attr, parser) in _FIELDS.items():
        if name in merged:
            values[attr] = parser(name, merged[name])  # type: ignore[operator]

    sqlite_path = Path(merged.get("SQLITE_PATH") or "one-api.db").expanduser()
    values["sqlite_path"] = sqlite_path if sqlite_path.is_absolute() else data_dir / sqlite_path
    if merged.get("LOG_DIR"):
        log_dir = Path(merged["LOG_DIR"]).expanduser()
        values["log_dir"] = log_dir if log_dir.is_absolute() else data_dir / log_dir

    known = {f.name for f in dataclasses.fields(Settings)}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"unknown setting override {key!r}")
        if value is not None:
            values[key] = value

    settings = Settings(**values)  # type: ignore[arg-type]
    # Validate the derived values now, so a bad DSN stops start-up with one line.
    settings.database  # noqa: B018
    settings.log_database  # noqa: B018
    if settings.redis_conn_string:
        _check_redis_url(settings.redis_conn_string, sentinel=bool(settings.redis_master_name))
    return settings


def ensure_session_secret(settings: Settings) -> Settings:
    """Without SESSION_SECRET, generate one once and keep it in the data dir (sessions survive restarts)."""
    if settings.session_secret:
        return settings
    path = settings.data_dir / "session_secret"
    if path.is_file():
        secret = path.read_text(encoding="utf-8").strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secret + "\n")
    return dataclasses.replace(settings, session_secret=secret)


def _check_redis_url(value: str, *, sentinel: bool) -> None:
    if sentinel:  # a comma list of host:port addresses
        for part in value.split(","):
            if not re.fullmatch(r"[^\s:,]+:\d+", part.strip()):
                raise SettingsError(f"REDIS_CONN_STRING: expected host:port[,host:port] with REDIS_MASTER_NAME, got {value!r}")
        return
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"REDIS_CONN_STRING: expected a redis://host:port/db URL, got {_mask(value)!r}")


# --- DSN parsing: one-api's forms -> SQLAlchemy URLs ------------------------------------------------

_GO_MYSQL = re.compile(
    r"^(?:(?P<user>[^:@/]*)(?::(?P<password>.*))?@)?"
    r"(?:(?P<net>[a-z]+)(?:\((?P<addr>[^)]*)\))?)?"
    r"/(?P<db>[^?]*)(?:\?(?P<params>.*))?$"
)
# Go-driver-only parameters that mean nothing to Python drivers.
_GO_ONLY_PARAMS = {"parsetime", "loc", "timeout", "readtimeout", "writetimeout", "allownativepasswords",
                   "collation", "interpolateparams", "multistatements", "tls", "maxallowedpacket"}


def _mask(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def parse_dsn(dsn: str, *, sqlite_path: Path, busy_timeout: int = 3000, name: str = "SQL_DSN") -> DatabaseURL:
    """Turn one-api's SQL_DSN forms into SQLAlchemy URLs.

    * empty -> SQLite at ``sqlite_path``;
    * ``postgres://`` / ``postgresql://`` URL -> PostgreSQL (psycopg 3, sync and async);
    * ``mysql://`` URL or Go-style ``user:pass@tcp(host:port)/db?charset=utf8mb4&parseTime=True``
      -> MySQL/MariaDB (aiomysql / pymysql).
    """
    dsn = dsn.strip()
    if not dsn:
        path = sqlite_path.as_posix()
        return DatabaseURL("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", f"sqlite:///{path}")
    if dsn.startswith(("sqlite://", "sqlite:")):
        path = dsn.split(":", 1)[1].lstrip("/")
        path = "/" + path if dsn.startswith("sqlite:////") else path
        return DatabaseURL("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", f"sqlite:///{path}")
    if dsn.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(dsn)
        if not parts.hostname and not parts.path.strip("/"):
            raise SettingsError(f"{name}: cannot parse PostgreSQL DSN {_mask(dsn)!r}")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise SettingsError(f"{name}: bad port in PostgreSQL DSN {_mask(dsn)!r}") from None
        rest = dsn.split("://", 1)[1]
        url = f"postgresql+psycopg://{rest}"
        return DatabaseURL("postgresql", url, url, _mask(f"postgresql://{rest}"))
    if dsn.startswith("mysql://"):
        parts = urlsplit(dsn)
        try:
            parts.port  # noqa: B018
        except ValueError:
            raise SettingsError(f"{name}: bad port in MySQL DSN {_mask(dsn)!r}") from None
        user = unquote(parts.username or "")
        password = unquote(parts.password) if parts.password is not None else None
        host, port, db = parts.hostname or "127.0.0.1", parts.port or 3306, parts.path.lstrip("/")
        params = dict(parse_qsl(parts.query))
    else:
        match = _GO_MYSQL.match(dsn)
        if not match or (match["net"] and match["net"] not in ("tcp", "unix")):
            raise SettingsError(
                f"{name}: cannot parse {_mask(dsn)!r}; expected postgres://..., mysql://... or "
                "user:pass@tcp(host:port)/dbname"
            )
        user, password = unquote(match["user"] or ""), match["password"]
        addr = match["addr"] or "127.0.0.1:3306"
        params = dict(parse_qsl(match["params"] or ""))
        db = match["db"]
        if match["net"] == "unix":
            params["unix_socket"] = addr
            host, port = "localhost", 3306
        else:
            host, _, port_text = addr.rpartition(":") if ":" in addr else (addr, "", "3306")
            try:
                port = int(port_text)
            except ValueError:
                raise SettingsError(f"{name}: bad port in MySQL DSN {_mask(dsn)!r}") from None
    if not db:
        raise SettingsError(f"{name}: the MySQL DSN names no database: {_mask(dsn)!r}")
    kept = {k: v for k, v in params.items() if k.lower() not in _GO_ONLY_PARAMS}
    kept.setdefault("charset", "utf8mb4")
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "")
    tail = f"{auth}@{host}:{port}/{db}?{urlencode(kept)}"
    return DatabaseURL("mysql", f"mysql+aiomysql://{tail}", f"mysql+pymysql://{tail}",
                       _mask(f"mysql://{tail}"))


def process_settings(**overrides: object) -> Settings:
    """Settings for this process: the environment plus the file named by ONEAPI_CONFIG (set by
    ``oneapi serve --config FILE`` for the server it starts) or ``<data dir>/oneapi.env``."""
    return load_settings(None, os.environ.get("ONEAPI_CONFIG") or None, **overrides)
