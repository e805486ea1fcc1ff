"""Tokens: the logged-in user's own ``sk-`` keys - list, search, create, edit, enable/disable, copy, delete, and
each key's rate limits (requests and tokens per minute, requests at once: relay/limits.py; blank or 0 = the
user's group's default from the GroupRateLimits option, -1 = none), summed up in the table's Limits column.

Every write is a ``@writes`` handler calling the token services with the shared request models, as /api/token
does; the services announce the change, so the relay's token cache drops a stale key at once. Keys never sit
in the frontend state: Copy reads the key on the backend and hands it to the clipboard only.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Role, Token, TokenStatus, User
from ..models.schemas import TokenCreate, TokenUpdate
from ..models.schemas.token import LIMIT_MAX
from ..services import tokens as token_service
from .actions import Write, writes
from .chat_links import open_script
from .common import UiError, error_text, format_quota, format_time, parse_whole, public_address
from .components.token_dialogs import confirm_delete_dialog, editor_dialog, token_row_view
from .components.widgets import error_callout
from .registry import page
from .state import SessionState
from .texts import tr

DEFAULT_QUOTA = 500000
EXPIRY_PRESETS = {key: f"tokens.{key}" for key in ("never", "1h", "1d", "1M", "custom")}  # value -> message id
_PRESET_SECONDS = {"1h": 3600, "1d": 86400, "1M": 30 * 86400}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
STATUS_LABELS: dict[int, str] = {TokenStatus.ENABLED: "common.enabled", TokenStatus.DISABLED: "common.disabled",
                                  TokenStatus.EXPIRED: "tokens.expired", TokenStatus.EXHAUSTED: "tokens.exhausted"}


# --- pure helpers (unit-tested) ---------------------------------------------------------------------------

def expiry_timestamp(preset: str, custom: str = "", now: int | None = None) -> int:
    """The ``expired_time`` of an expiry preset: -1 for never, now + the preset, or the custom local datetime
    (``YYYY-MM-DDTHH:MM`` as an <input type=datetime-local> sends it). Raises ValueError on a bad choice."""
    now = int(time.time()) if now is None else now
    if preset == "never":
        return -1
    if preset in _PRESET_SECONDS:
        return now + _PRESET_SECONDS[preset]
    if preset == "custom":
        text = custom.strip()
        for fmt in (DATETIME_LOCAL, DATETIME_LOCAL + ":%S"):
            try:
                return int(datetime.strptime(text, fmt).timestamp())
            except ValueError:
                continue
        raise UiError("tokens.enter_expiry")
    raise UiError("tokens.unknown_expiry", choice=repr(preset))


def datetime_local(ts: int) -> str:
    """A unix timestamp as the value of an <input type=datetime-local> (server local time)."""
    return time.strftime(DATETIME_LOCAL, time.localtime(ts))


def parse_quota(text: str, lang: str = "en") -> int:
    value = parse_whole(text, t("tokens.remaining_quota", lang))
    if value < 0:
        raise UiError("tokens.negative")
    return value


# A token's limit fields: (field, the message id of its label, of its short form in the table, the group key).
LIMIT_FIELDS = (("rpm_limit", "tokens.limit_rpm", "tokens.rpm_short", "rpm"),
                ("tpm_limit", "tokens.limit_tpm", "tokens.tpm_short", "tpm"),
                ("concurrency_limit", "tokens.limit_concurrency", "tokens.conc_short", "concurrency"))


def parse_limit(text: str, label_id: str, lang: str = "en") -> int:
    """A limit typed in the editor: blank = 0 (the group's default), -1 = none, else a whole number ("1,000" is
    fine) up to the API's maximum. A UiError naming the field otherwise."""
    value = str(text).strip()
    if not value:
        return 0
    try:
        number = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise UiError("tokens.limit_bad", field=t(label_id, lang), value=repr(value)) from None
    if not -1 <= number <= LIMIT_MAX:
        raise UiError("tokens.limit_range", field=t(label_id, lang), high=f"{LIMIT_MAX:,}")
    return number


def limit_text(value: int) -> str:
    """A limit as the editor shows it: 0 (the group's default) as blank."""
    return "" if value == 0 else str(value)


def compact_count(n: int) -> str:
    """60 -> "60", 10000 -> "10k", 1500000 -> "1.5M"."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return str(n)


def limits_summary(rpm: int, tpm: int, concurrency: int, lang: str = "en") -> str:
    """A key's limits in a few words: "60 rpm · 10k tpm · 4 conc"; -1 shows as ∞, 0 (the group's default) is
    left out; "group default" when all three are 0, "no limits" when all are -1."""
    values = (rpm, tpm, concurrency)
    if all(v == 0 for v in values):
        return t("tokens.group_default", lang)
    if all(v < 0 for v in values):
        return t("tokens.no_limits", lang)
    return " · ".join(t(short, lang, n="∞" if v < 0 else compact_count(v))
                      for v, (_f, _l, short, _g) in zip(values, LIMIT_FIELDS, strict=True) if v != 0)


def group_limits_text(raw: str, group: str, lang: str = "en") -> str:
    """What a key of ``group`` gets with blank limits, from the GroupRateLimits option (0 or absent there =
    none), and the limits of all the user's keys together (``user_*``) when the group has some."""
    try:
        table = json.loads(raw or "{}")
    except ValueError:
        table = {}
    limits = table.get(group) if isinstance(table, dict) else None
    limits = limits if isinstance(limits, dict) else {}

    def values(prefix: str) -> tuple[int, int, int]:
        found = [limits.get(prefix + group_key) for _f, _l, _s, group_key in LIMIT_FIELDS]
        rpm, tpm, concurrency = (v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0 for v in found)
        return rpm, tpm, concurrency

    per_key, per_user = values(""), values("user_")
    text = limits_summary(*per_key, lang=lang) if any(per_key) else t("tokens.no_limits", lang)
    if any(per_user):
        text = t("tokens.limits_with_user", lang, key=text, user=limits_summary(*per_user, lang=lang))
    return text


def token_row(token: Token, in_currency: bool, quota_per_unit: float, lang: str = "en") -> dict[str, str]:
    """What the table shows of a token (texts in ``lang``): never its key."""
    status = token.status
    if status == TokenStatus.ENABLED and token.expired_time != -1 and token.expired_time <= time.time():
        status = TokenStatus.EXPIRED
    return {
        "id": str(token.id),
        "name": token.name,
        "status": str(int(status)),
        "status_label": t(STATUS_LABELS[status], lang) if status in STATUS_LABELS
        else t("tokens.unknown", lang, status=status),
        "used": format_quota(token.used_quota, in_currency, quota_per_unit),
        "remaining": t("tokens.unlimited", lang) if token.unlimited_quota
        else format_quota(token.remain_quota, in_currency, quota_per_unit),
        "created": format_time(token.created_time),
        "expires": t("tokens.never_expires", lang) if token.expired_time == -1 else format_time(token.expired_time),
        "limits": limits_summary(token.rpm_limit, token.tpm_limit, token.concurrency_limit, lang),
    }


# --- state ------------------------------------------------------------------------------------------------

class TokensState(SessionState):
    rows: list[dict[str, str]] = []
    pages: int = 1
    has_more: bool = False
    keyword: str = ""
    searching: bool = False
    error: str = ""

    # the editor (editing_id 0 = a new token)
    editor_open: bool = False
    editing_id: int = 0
    name: str = ""
    quota: str = str(DEFAULT_QUOTA)
    unlimited: bool = False
    expiry: str = "never"
    expiry_custom: str = ""
    models: str = ""
    subnet: str = ""
    limits: dict[str, str] = {field: "" for field, *_rest in LIMIT_FIELDS}  # field -> its text ("" = group default)
    group_limits: str = ""  # what blank limits mean for this user's group, in words
    editor_error: str = ""

    # the delete confirmation
    deleting_id: int = 0
    deleting_name: str = ""

    # ---- listing

    async def _reload(self) -> None:
        if not self._user_id:
            self.rows, self.has_more = [], False
            return
        rt = runtime()
        options = rt.options
        in_currency, per_unit = bool(options.DisplayInCurrencyEnabled), float(options.QuotaPerUnit)
        async with rt.db.session() as session:
            if self.keyword.strip():
                found = await token_service.search_tokens(session, self._user_id, self.keyword.strip()[:100])
                more = False
            else:
                found = []
                more = False
                for p in range(self.pages):
                    batch = await token_service.list_tokens(session, self._user_id, p)
                    found += batch
                    more = len(batch) == token_service.PAGE_SIZE
                    if not more:
                        break
            user = await session.get(User, self._user_id)
        lang = self._lang()
        self.group_limits = group_limits_text(options.GroupRateLimits, user.group if user else "default", lang)
        self.rows = [token_row(token, in_currency, per_unit, lang) for token in found]
        self.has_more = more

    @rx.event
    async def load(self):
        self.pages, self.keyword, self.error = 1, "", ""
        await self._reload()

    @rx.event
    async def load_more(self):
        self.pages += 1
        await self._reload()

    @rx.event
    def set_keyword(self, value: str):
        self.keyword = value

    @rx.event
    async def search(self, form: dict | None = None):
        self.pages = 1
        await self._reload()

    @rx.event
    async def clear_search(self):
        self.keyword, self.pages = "", 1
        await self._reload()

    # ---- row actions

    @rx.event
    @writes(error="error", action="token page action")
    async def copy_key(self, w: Write, token_id: str):
        token = await token_service.get_token(w.session, int(token_id), w.user.id)
        return [rx.set_clipboard(token.display_key), rx.toast.success(self._say("tokens.key_copied"), id="token-toast")]

    @rx.event
    @writes(error="error", action="token page action")
    async def open_chat(self, w: Write, token_id: str, app: str):
        """The row's Chat menu: opens the key in a chat app; the link (with the key) goes to the browser once."""
        token = await token_service.get_token(w.session, int(token_id), w.user.id)
        options = runtime().options
        script = open_script(token.display_key, public_address(options.ServerAddress, self.router.headers.origin),
                             options.ChatLink, app)
        return rx.call_script(script) if script else None

    @rx.event
    @writes(error="error", action="token page action")
    async def toggle_status(self, w: Write, token_id: str, status: str):
        target = TokenStatus.DISABLED if status == str(int(TokenStatus.ENABLED)) else TokenStatus.ENABLED
        await token_service.update_token(w.session, int(token_id), TokenUpdate(status=target), w.user.id,
                                         status_only=True, bus=w.bus)
        self.error = ""
        await self._reload()
        return rx.toast.success(self._say("tokens.enabled" if target == TokenStatus.ENABLED else "tokens.disabled"))

    @rx.event
    def ask_delete(self, token_id: str, name: str):
        self.deleting_id, self.deleting_name = int(token_id), name

    @rx.event
    def cancel_delete(self):
        self.deleting_id, self.deleting_name = 0, ""

    @rx.event
    @writes(error="error", action="token page action")
    async def confirm_delete(self, w: Write):
        token_id, self.deleting_id, self.deleting_name = self.deleting_id, 0, ""
        await token_service.delete_token(w.session, token_id, w.user.id, bus=w.bus)
        self.error = ""
        await self._reload()
        return rx.toast.success(self._say("tokens.deleted"))

    def _fail(self, exc: Exception):
        self.error = error_text(exc, "token page action", self._lang())
        return rx.toast.error(self.error)

    # ---- the editor

    @rx.event
    def open_new(self):
        self.editing_id, self.name, self.quota, self.unlimited = 0, "", str(DEFAULT_QUOTA), False
        self.expiry, self.expiry_custom, self.models, self.subnet, self.editor_error = "never", "", "", "", ""
        self.limits = {field: "" for field, *_rest in LIMIT_FIELDS}
        self.editor_open = True

    @rx.event
    async def open_edit(self, token_id: str):
        try:
            async with runtime().db.session() as session:
                token = await token_service.get_token(session, int(token_id), self._user_id or -1)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)
        self.editing_id, self.name = token.id or 0, token.name
        self.quota, self.unlimited = str(token.remain_quota), token.unlimited_quota
        if token.expired_time == -1:
            self.expiry, self.expiry_custom = "never", ""
        else:
            self.expiry, self.expiry_custom = "custom", datetime_local(token.expired_time)
        self.models, self.subnet, self.editor_error = token.models or "", token.subnet or "", ""
        self.limits = {field: limit_text(getattr(token, field)) for field, *_rest in LIMIT_FIELDS}
        self.editor_open = True

    @rx.event
    def set_editor_open(self, value: bool):
        self.editor_open = value

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    def set_quota(self, value: str):
        self.quota = value

    @rx.event
    def set_unlimited(self, value: bool):
        self.unlimited = value

    @rx.event
    def set_expiry(self, value: str):
        self.expiry = value
        if value == "custom" and not self.expiry_custom:
            self.expiry_custom = datetime_local(int(time.time()) + 86400)

    @rx.event
    def set_expiry_custom(self, value: str):
        self.expiry_custom = value

    @rx.event
    def set_models(self, value: str):
        self.models = value

    @rx.event
    def set_subnet(self, value: str):
        self.subnet = value

    @rx.event
    def set_limit(self, field: str, value: str):
        if field in self.limits:
            self.limits[field] = value

    @rx.event
    @writes(error="editor_error", action="saving a token")
    async def submit(self, w: Write):
        name = self.name.strip()
        if not name:
            raise UiError("tokens.need_name")
        fields = {"name": name, "expired_time": expiry_timestamp(self.expiry, self.expiry_custom),
                  "remain_quota": parse_quota(self.quota, self._lang()), "unlimited_quota": self.unlimited,
                  "models": self.models.strip(), "subnet": self.subnet.strip()}
        lang = self._lang()
        fields |= {field: parse_limit(self.limits.get(field, ""), label, lang) for field, label, *_r in LIMIT_FIELDS}
        if self.editing_id:  # as PUT /api/token/
            await token_service.update_token(w.session, self.editing_id, TokenUpdate.model_validate(fields), w.user.id,
                                             bus=w.bus)
        else:  # as POST /api/token/
            await token_service.create_token(w.session, w.user.id, TokenCreate.model_validate(fields))
        edited = bool(self.editing_id)
        self.editor_open, self.editor_error, self.editing_id, self.error = False, "", 0, ""
        await self._reload()
        return rx.toast.success(self._say("tokens.saved" if edited else "tokens.created"))


# --- view -------------------------------------------------------------------------------------------------

@page("/token", "page.tokens", nav="page.tokens", icon="key-round", min_role=Role.COMMON, on_load=(TokensState.load,))
def tokens_page() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(tr("page.tokens"), size="5"),
            rx.spacer(),
            rx.form(
                rx.hstack(
                    rx.input(value=TokensState.keyword, on_change=TokensState.set_keyword, id="token-search", name="keyword",
                             placeholder=tr("tokens.search"), width="200px", max_width="100%"),
                    rx.button(tr("common.search"), type="submit", variant="soft", id="token-search-submit"),
                    rx.cond(TokensState.keyword != "",
                            rx.button(tr("common.clear"), type="button", variant="ghost",
                                      on_click=TokensState.clear_search)),
                    max_width="100%",
                ),
                on_submit=TokensState.search,
                reset_on_submit=False,
            ),
            rx.button(rx.icon("plus", size=16), tr("tokens.add"), on_click=TokensState.open_new, id="token-add"),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        error_callout(TokensState.error, "token-error"),
        rx.box(  # on a phone the table scrolls sideways (name and status first)
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(h)) for h in (
                    "tokens.name", "tokens.status", "tokens.used", "tokens.remaining", "tokens.limits",
                    "tokens.created_at", "tokens.expires", "common.actions")])),
                rx.table.body(rx.foreach(TokensState.rows, lambda row: token_row_view(TokensState, row))),
                width="100%",
                id="token-table",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.cond(TokensState.rows.length() == 0,  # type: ignore[attr-defined]  # a Reflex Var, not a list
                rx.text(tr("tokens.empty"), color_scheme="gray", id="token-empty")),
        rx.cond(TokensState.has_more,
                rx.button(tr("common.load_more"), variant="soft", on_click=TokensState.load_more, id="token-more")),
        editor_dialog(TokensState, EXPIRY_PRESETS, LIMIT_FIELDS),
        confirm_delete_dialog(TokensState),
        spacing="4",
        width="100%",
    )
