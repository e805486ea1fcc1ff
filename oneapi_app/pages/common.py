"""Pure helpers every dashboard page shares: the user-facing message of an exception, quota and time formatting,
whole numbers typed in form fields, the address users reach the appliance at. Nothing here touches state or the
database."""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import AppError
from ..i18n import Text, t
from ..services.options import Options

log = logging.getLogger(__name__)

DEFAULT_SERVER_ADDRESS: str = Options.model_fields["ServerAddress"].default


def error_text(exc: Exception, action: str = "dashboard action", lang: str | None = None) -> str:
    """A service or validation error as one line for the page, in ``lang`` (the dashboard user's language:
    ``texts.lang_of``; without it: the LANGUAGE setting's); anything else is logged, never shown."""
    if isinstance(exc, AppError):
        return exc.text.render(lang) if isinstance(exc.text, Text) else exc.message
    if isinstance(exc, UiError):
        return exc.text.render(lang or "en")
    if isinstance(exc, ValidationError):
        first: Mapping[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", "invalid value"))
        return f"{where}: {msg}" if where else msg
    if isinstance(exc, ValueError):
        return str(exc)
    log.error("%s failed", action, exc_info=exc)
    return t("shell.unexpected", lang or "en")


class UiError(ValueError):
    """A page's own check failed: its text (a message id of the table) is shown in the user's language."""

    def __init__(self, msg_id: str, **params: object) -> None:
        self.text = Text(msg_id, params)
        super().__init__(self.text.render("en"))


_LINK = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a\s*>""", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</p\s*>|</div\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_CODE = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)


def footer_markdown(text: str) -> str:
    """The Footer option (HTML in one-api) as Markdown: links become Markdown links (http(s) and relative only),
    line breaks stay, scripts and styles go with their content, every other tag is dropped; the page renders it
    without raw HTML."""
    def link(match: re.Match) -> str:
        href, label = match.group(1).strip(), _TAG.sub("", match.group(2)).strip()
        if not href.startswith(("http://", "https://", "/")):
            return label
        return f"[{label or href}]({href.replace(')', '%29').replace(' ', '%20')})"

    out = _LINK.sub(link, _CODE.sub("", text or ""))
    out = _BREAK.sub("  \n", out)
    return html.unescape(_TAG.sub("", out)).strip()


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
        raise UiError("shell.whole_number", field=field) from None


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
