"""Pure helpers every dashboard page shares: the user-facing message of an exception, quota and time formatting,
whole numbers typed in form fields, the address users reach the appliance at. Nothing here touches state or the
database."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import AppError
from ..services.options import Options

log = logging.getLogger(__name__)

UNEXPECTED = "Unexpected error; see the server log."
DEFAULT_SERVER_ADDRESS: str = Options.model_fields["ServerAddress"].default


def error_text(exc: Exception, action: str = "dashboard action") -> str:
    """A service or validation error as one line for the page; anything else is logged, never shown."""
    if isinstance(exc, AppError):
        return exc.message
    if isinstance(exc, ValidationError):
        first: Mapping[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", "invalid value"))
        return f"{where}: {msg}" if where else msg
    if isinstance(exc, ValueError):
        return str(exc)
    log.error("%s failed", action, exc_info=exc)
    return UNEXPECTED


def format_time(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts > 0 else "-"


def format_quota(quota: int, in_currency: bool = False, quota_per_unit: float = 500000) -> str:
    """Quota units, and also US dollars (quota / QuotaPerUnit) when DisplayInCurrencyEnabled."""
    text = f"{quota:,}"
    if in_currency and quota_per_unit > 0:
        usd = quota / quota_per_unit
        amount = f"{usd:,.2f}" if usd == 0 or abs(usd) >= 0.01 else f"{usd:.6f}".rstrip("0")
        text += f" (${amount})"
    return text


def parse_whole(text: str, field: str) -> int:
    """A whole number typed in a form field ("1,000,000" is fine); ValueError with the field's name otherwise."""
    try:
        return int(str(text).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f"{field} must be a whole number") from None


def public_address(server_address: str, page_origin: str) -> str:
    """Where users reach the appliance, for the links the pages show: ServerAddress when an admin set it, else
    the origin the browser loaded the dashboard from (one-api's default ``http://localhost:3000`` is right only
    on the machine itself)."""
    configured = (server_address or "").strip().rstrip("/")
    if configured and configured != DEFAULT_SERVER_ADDRESS:
        return configured
    origin = (page_origin or "").strip().rstrip("/")
    if origin.startswith(("http://", "https://")):
        return origin
    return configured or DEFAULT_SERVER_ADDRESS
