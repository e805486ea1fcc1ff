"""Runtime options that admins edit (the ``options`` table), behind one typed model.

Keys and defaults are one-api's. Values are stored as strings (``"true"``, ``"500000"``, JSON...). Unknown
keys are kept too, so a one-api database's extra options survive.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..catalog.prices import CACHE_RATIOS, CACHE_WRITE_RATIOS, COMPLETION_RATIOS, MODEL_RATIOS
from ..changes import Changes
from ..errors import ConfigError
from ..i18n import msg
from ..models import Option, table_of

DEFAULT_EMAIL_WHITELIST = "gmail.com,163.com,126.com,qq.com,outlook.com,hotmail.com,icloud.com,yahoo.com,foxmail.com"
DEFAULT_GROUP_RATIO = '{"default":1,"vip":1,"svip":1}'
THEMES = ("default", "berry", "air")
INTERNAL_PREFIXES = ("verification:",)


class Options(BaseModel):
    """Every known option with its type and one-api's default. Field names are the option keys."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    # Booleans.
    PasswordLoginEnabled: bool = True
    PasswordRegisterEnabled: bool = True
    EmailVerificationEnabled: bool = False
    GitHubOAuthEnabled: bool = False
    OidcEnabled: bool = False
    WeChatAuthEnabled: bool = False
    TurnstileCheckEnabled: bool = False
    RegisterEnabled: bool = True
    AutomaticDisableChannelEnabled: bool = False
    AutomaticEnableChannelEnabled: bool = False
    ApproximateTokenEnabled: bool = False
    LogConsumeEnabled: bool = True
    DisplayInCurrencyEnabled: bool = True
    DisplayTokenStatEnabled: bool = True
    EmailDomainRestrictionEnabled: bool = False
    # Numbers.
    ChannelDisableThreshold: float = 5
    SMTPPort: int = 587
    QuotaForNewUser: int = 0
    QuotaForInviter: int = 0
    QuotaForInvitee: int = 0
    QuotaRemindThreshold: int = 1000
    PreConsumedQuota: int = 500
    QuotaPerUnit: float = 500000
    RetryTimes: int = 0
    # Strings.
    EmailDomainWhitelist: str = DEFAULT_EMAIL_WHITELIST
    SMTPServer: str = ""
    SMTPFrom: str = ""
    SMTPAccount: str = ""
    SMTPToken: str = ""
    Notice: str = ""
    About: str = ""
    HomePageContent: str = ""
    Footer: str = ""
    SystemName: str = "One API"
    Logo: str = ""
    ServerAddress: str = "http://localhost:3000"
    GitHubClientId: str = ""
    GitHubClientSecret: str = ""
    LarkClientId: str = ""
    LarkClientSecret: str = ""
    OidcClientId: str = ""
    OidcClientSecret: str = ""
    OidcWellKnown: str = ""
    OidcAuthorizationEndpoint: str = ""
    OidcTokenEndpoint: str = ""
    OidcUserinfoEndpoint: str = ""
    WeChatServerAddress: str = ""
    WeChatServerToken: str = ""
    WeChatAccountQRCodeImageURL: str = ""
    MessagePusherAddress: str = ""
    MessagePusherToken: str = ""
    TurnstileSiteKey: str = ""
    TurnstileSecretKey: str = ""
    TopUpLink: str = ""
    ChatLink: str = ""
    Theme: str = "default"
    # JSON maps. An empty ModelRatio/CompletionRatio means "the built-in table only" (see pricing).
    ModelRatio: str = "{}"
    GroupRatio: str = DEFAULT_GROUP_RATIO
    CompletionRatio: str = "{}"
    # Prompt caching: price of a cached / cache-written input token as a fraction of an input token (pricing).
    CacheRatio: str = "{}"
    CacheWriteRatio: str = "{}"
    # Rate limits per group (relay/limits.py): {"vip": {"rpm": 600, "tpm": 0, "concurrency": 10, "user_rpm": 0,
    # "user_tpm": 0, "user_concurrency": 0}}; rpm/tpm/concurrency apply to each token (unless the token sets
    # its own), user_* to all the user's tokens together; 0 or absent = no limit.
    GroupRateLimits: str = "{}"

    @classmethod
    def known_keys(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @staticmethod
    def is_secret(key: str) -> bool:
        """Keys never returned by GET /api/option (one-api's rule, plus TurnstileSecretKey which it leaks)."""
        return key.endswith(("Token", "Secret", "SecretKey"))

    def group_ratios(self) -> dict[str, float]:
        return json.loads(self.GroupRatio or "{}")


def go_float_text(value: float) -> str:
    """A float as One API stores and shows its float options (Go's ``FormatFloat(v, 'f', -1, 64)``): the
    shortest digits that read back the same, never an exponent, no ".0" on whole numbers."""
    if value.is_integer():
        return str(int(value))
    if not math.isfinite(value):
        return str(value)
    return format(Decimal(repr(value)), "f")


def to_db_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_text(value)
    return str(value)


# --- the ratio tables ----------------------------------------------------------------------------------------
# ModelRatio and CompletionRatio hold the admin's overrides of the built-in tables (services/pricing.py); "{}"
# means the built-ins alone. Admins read and edit the whole table, as in One API: reads merge the built-ins
# with the overrides, and a saved table keeps only what differs from the built-ins -- prices stay the same,
# and the built-ins an admin did not touch follow the code.
RATIO_TABLE_KEYS = ("ModelRatio", "CompletionRatio", "CacheRatio", "CacheWriteRatio")


def builtin_ratio_table(key: str) -> dict[str, float]:
    return {"ModelRatio": MODEL_RATIOS, "CompletionRatio": COMPLETION_RATIOS, "CacheRatio": CACHE_RATIOS,
            "CacheWriteRatio": CACHE_WRITE_RATIOS}[key]


def _go_json(table: dict[str, Any]) -> str:
    numbers = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in table.items()}
    return json.dumps(numbers, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def full_ratio_table(key: str, overrides: str) -> str:
    """The table an admin reads: the built-ins with the overrides applied (JSON, keys sorted as Go does)."""
    return _go_json(builtin_ratio_table(key) | json.loads(overrides or "{}"))


def ratio_overrides(key: str, table: str) -> str:
    """What to store of a table an admin saved: the entries that differ from the built-ins."""
    builtin = builtin_ratio_table(key)
    return _go_json({k: v for k, v in json.loads(table or "{}").items() if builtin.get(k) != v})


def admin_view(options: Options) -> list[dict[str, str]]:
    """GET /api/option: every option as a string, secrets and internal rows left out, the ratio tables whole."""
    values = options.model_dump()
    rows = []
    for key, value in values.items():
        if Options.is_secret(key) or is_internal(key):
            continue
        text = to_db_value(value)
        rows.append({"key": key, "value": full_ratio_table(key, text) if key in RATIO_TABLE_KEYS else text})
    return rows


def _parse(key: str, raw: str) -> Any:
    """Turn a stored string into the field's type; raise ConfigError with a clear message."""
    field = Options.model_fields.get(key)
    if field is None:
        return raw
    kind = field.annotation
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0", ""):
            return False
        raise ConfigError(msg("option.expected_bool", key=key, raw=repr(raw)))
    if kind in (int, float):
        try:
            number = float(text) if text else 0.0
        except ValueError:
            raise ConfigError(msg("option.expected_number", key=key, raw=repr(raw))) from None
        if kind is int:
            if not number.is_integer():
                raise ConfigError(msg("option.expected_integer", key=key, raw=repr(raw)))
            return int(number)
        return number
    if key in ("ModelRatio", "GroupRatio", "CompletionRatio", "CacheRatio", "CacheWriteRatio"):
        try:
            parsed = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(msg("option.bad_json", key=key, detail=f"{exc.msg} at position {exc.pos}")) from None
        if not isinstance(parsed, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in parsed.values()
        ):
            raise ConfigError(msg("option.expected_ratios", key=key))
        if key in ("CacheRatio", "CacheWriteRatio") and any(v < 0 for v in parsed.values()):
            raise ConfigError(msg("option.negative_cache_ratio", key=key))
        return text or "{}"
    if key == "GroupRateLimits":
        return _rate_limits(key, text)
    if key == "Theme" and text not in THEMES:
        raise ConfigError(msg("option.bad_theme", themes=", ".join(THEMES), raw=repr(raw)))
    return raw


RATE_LIMIT_FIELDS = ("rpm", "tpm", "concurrency", "user_rpm", "user_tpm", "user_concurrency")


def _rate_limits(key: str, text: str) -> str:
    try:
        parsed = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(msg("option.bad_json", key=key, detail=f"{exc.msg} at position {exc.pos}")) from None
    if not isinstance(parsed, dict) or not all(
        isinstance(limits, dict) and all(
            name in RATE_LIMIT_FIELDS and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for name, v in limits.items())
        for limits in parsed.values()
    ):
        raise ConfigError(msg("option.bad_rate_limits", key=key))
    return text or "{}"


def options_from_rows(rows: dict[str, str]) -> Options:
    values: dict[str, Any] = {}
    for key, raw in rows.items():
        try:
            values[key] = _parse(key, raw)
        except ConfigError:
            continue  # a bad stored value keeps the default rather than stopping the appliance
    try:
        return Options(**values)
    except ValidationError:
        return Options()


async def load_options(session: AsyncSession) -> Options:
    rows = (await session.exec(select(Option))).all()
    return options_from_rows({row.key: row.value or "" for row in rows if not is_internal(row.key)})


def is_internal(key: str) -> bool:
    """Rows of the options table that are not options (verification codes, see services/verification.py)."""
    return key.startswith(INTERNAL_PREFIXES)


def _upsert(dialect_name: str, key: str, value: str):
    table = table_of(Option)
    if dialect_name == "postgresql":
        stmt = postgresql.insert(table).values(key=key, value=value)
        return stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
    if dialect_name in ("mysql", "mariadb"):
        return mysql.insert(table).values(key=key, value=value).on_duplicate_key_update(value=value)
    lite = sqlite.insert(table).values(key=key, value=value)
    return lite.on_conflict_do_update(index_elements=["key"], set_={"value": value})


MAX_VALUE_LENGTH = 1_000_000


def _check_enable(options: Options, key: str, value: str) -> None:
    """one-api refuses switching a login method on before it is configured."""
    on = value.strip().lower() in ("true", "1")
    if not on:
        return
    if key == "GitHubOAuthEnabled" and not options.GitHubClientId:
        raise ConfigError(msg("option.github_incomplete"))
    if key == "OidcEnabled" and not options.OidcClientId:
        raise ConfigError(msg("option.oidc_incomplete"))
    if key == "WeChatAuthEnabled" and not options.WeChatServerAddress:
        raise ConfigError(msg("option.wechat_incomplete"))
    if key == "TurnstileCheckEnabled" and not options.TurnstileSiteKey:
        raise ConfigError(msg("option.turnstile_incomplete"))
    if key == "EmailDomainRestrictionEnabled" and not options.EmailDomainWhitelist.strip():
        raise ConfigError(msg("option.domains_incomplete"))


async def update_option(session: AsyncSession, current: Options, key: str, value: str | bool | float | None,
                        *, bus: Changes) -> Options:
    """Validate and store one option; return the new typed Options and announce "options" on ``bus``.
    Raises ConfigError on bad input (a reserved key, a login method switched on before it is configured...)."""
    if is_internal(key):
        raise ConfigError(msg("option.reserved", key=key))
    raw = to_db_value(value) if value is not None else ""
    if len(raw) > MAX_VALUE_LENGTH:
        raise ConfigError(msg("option.too_long"))
    key = key.strip()
    if not key or len(key) > 191:
        raise ConfigError(msg("option.key_length"))
    _check_enable(current, key, raw)
    parsed = _parse(key, raw)
    if key in RATIO_TABLE_KEYS:
        parsed = ratio_overrides(key, parsed)
    data = current.model_dump()
    data[key] = parsed
    try:
        updated = Options(**data)
    except ValidationError as exc:
        raise ConfigError(msg("option.invalid", key=key, detail=exc.errors()[0]["msg"])) from None
    await session.exec(_upsert(session.get_bind().dialect.name, key, to_db_value(parsed)))  # type: ignore[call-overload]
    await session.commit()
    await bus.publish("options")
    return updated
