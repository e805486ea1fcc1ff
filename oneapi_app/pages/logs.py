"""Logs: what each request cost. A common user sees only their own logs (the service's self scope: the filter
pins ``user_id``); an admin sees everyone's, with the username and channel filters, the channel column and
"Delete logs older than <date>".

Every handler re-reads the user from the database (a demoted or disabled user loses the admin view at once) and
reads through the same services as /api/log: ``list_logs``, ``sum_quota`` and ``purge_before``. Service errors
become a visible message and a toast, never a stack trace."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Log, LogType, Role
from ..services import logs as log_service
from .actions import Write, writes
from .common import UiError, error_text, format_quota, format_time, parse_whole
from .components.log_table import log_table
from .components.widgets import confirm_dialog, error_callout, pager
from .registry import page
from .state import SessionState
from .texts import lang_of, tr

TYPE_LABELS = {LogType.UNKNOWN: "logs.all", LogType.TOPUP: "logs.topup", LogType.CONSUME: "logs.consume",
               LogType.MANAGE: "logs.manage", LogType.SYSTEM: "logs.system", LogType.TEST: "logs.test"}  # ids
NAME_LIMIT = 100  # as the API's query bounds
FILTER_FIELDS = ("f_type", "f_token", "f_model", "f_start", "f_end", "f_username", "f_channel")


# --- pure helpers (unit-tested) ---------------------------------------------------------------------------

def parse_local_datetime(text: str, field: str = "time") -> int:
    """A unix timestamp from an <input type=datetime-local> (``YYYY-MM-DDTHH:MM[:SS]``) or <input type=date>
    value, in the server's local time; 0 for an empty value. Raises ValueError on anything else."""
    text = str(text or "").strip()
    if not text:
        return 0
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text, fmt).timestamp())
        except ValueError:
            continue
    raise UiError("logs.enter_datetime", field=field)


def _whole(text: str, field: str, high: int) -> int:
    text = str(text or "").strip()
    if not text:
        return 0
    value = parse_whole(text, field)
    if not 0 <= value <= high:
        raise UiError("shell.between", field=field, high=high)
    return value


def build_filter(fields: dict[str, str], user_id: int, admin: bool, lang: str = "en") -> log_service.LogFilter:
    """The service filter of the page's filter bar, with the API's bounds. A common user's filter is pinned to
    their own logs and ignores the username and channel fields (as /api/log/self). Errors name the fields in
    ``lang``."""
    start = parse_local_datetime(fields.get("f_start", ""), t("logs.start_time", lang))
    end = parse_local_datetime(fields.get("f_end", ""), t("logs.end_time", lang))
    if start and end and end < start:
        raise UiError("logs.end_before_start")
    flt = log_service.LogFilter(
        type=_whole(fields.get("f_type", ""), t("logs.type_field", lang), int(max(LogType))),
        token_name=str(fields.get("f_token", "")).strip()[:NAME_LIMIT],
        model_name=str(fields.get("f_model", "")).strip()[:NAME_LIMIT],
        start_timestamp=start,
        end_timestamp=end,
    )
    if admin:
        flt.username = str(fields.get("f_username", "")).strip()[:NAME_LIMIT]
        flt.channel = _whole(fields.get("f_channel", ""), t("logs.channel_field", lang), 2**53 - 1)
    else:
        flt.user_id = user_id
    return flt


def log_row(entry: Log, in_currency: bool, quota_per_unit: float, lang: str = "en") -> dict[str, str]:
    """What the table shows of one log row (all strings, for the frontend; labels in ``lang``)."""
    try:
        type_label = t(TYPE_LABELS[LogType(entry.type)] if entry.type else "logs.unknown", lang)
    except ValueError:
        type_label = t("logs.type_n", lang, type=entry.type)
    return {
        "id": str(entry.id),
        "time": format_time(entry.created_at),
        "type": str(entry.type),
        "type_label": type_label,
        "username": entry.username or "",
        "token": entry.token_name or "",
        "model": entry.model_name or "",
        "prompt": str(entry.prompt_tokens or 0),
        "completion": str(entry.completion_tokens or 0),
        "quota": format_quota(entry.quota or 0, in_currency, quota_per_unit) if entry.quota else "0",
        "elapsed": f"{entry.elapsed_time or 0} ms" if entry.elapsed_time or entry.type == LogType.CONSUME else "",
        "stream": "1" if entry.is_stream else "",
        "request_id": entry.request_id or "",
        "content": entry.content or "",
        "channel": str(entry.channel_id) if entry.channel_id else "",
    }


# --- state ------------------------------------------------------------------------------------------------

class LogsState(rx.State):
    rows: list[dict[str, str]] = []
    admin: bool = False
    page_no: int = 0
    has_next: bool = False
    stat: str = "0"
    error: str = ""
    form_key: int = 0  # bumped by Reset: the uncontrolled filter inputs remount with empty values

    # the filter bar (strings as the inputs send them); _applied is what the table shows (paging keeps it)
    f_type: str = "0"
    f_token: str = ""
    f_model: str = ""
    f_start: str = ""
    f_end: str = ""
    f_username: str = ""
    f_channel: str = ""
    _applied: dict[str, str] = {}

    # admin: delete logs older than a date
    purge_date: str = ""
    purge_open: bool = False

    async def _who(self) -> tuple[int, bool]:
        """(user id, is admin) re-read from the database; (0, False) when nobody usable is logged in."""
        user = await (await self.get_state(SessionState))._fresh_user(Role.COMMON)
        if user is None:
            return 0, False
        return user.id or 0, user.role >= Role.ADMIN

    def _fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTER_FIELDS}

    async def _fail(self, exc: Exception):
        self.error = error_text(exc, "log page action", await lang_of(self))
        return rx.toast.error(self.error)

    async def _reload(self):
        """Reload the table and the stat with the applied filter; returns a toast on an error."""
        user_id, self.admin = await self._who()
        if not user_id:
            self.rows, self.has_next, self.stat = [], False, "0"
            return rx.redirect("/login")
        rt = runtime()
        options = rt.options
        in_currency, per_unit = bool(options.DisplayInCurrencyEnabled), float(options.QuotaPerUnit)
        lang = await lang_of(self)
        try:
            flt = build_filter(self._applied, user_id, self.admin, lang)
            found = await log_service.list_logs(rt.db, flt, self.page_no)
            # The stat sums consume logs: a view filtered to another type used no quota.
            used = 0 if flt.type not in (0, int(LogType.CONSUME)) else await log_service.sum_quota(rt.db, flt)
        except Exception as exc:  # noqa: BLE001 - a visible message, never a stack trace
            self.rows, self.has_next = [], False
            return await self._fail(exc)
        self.error = ""
        self.rows = [log_row(e, in_currency, per_unit, lang) for e in found]
        self.has_next = len(found) == log_service.PAGE_SIZE
        self.stat = format_quota(used, in_currency, per_unit)
        return None

    @rx.event
    async def load(self):
        return await self._clear()

    async def _clear(self):
        for name in FILTER_FIELDS:
            setattr(self, name, "0" if name == "f_type" else "")
        self._applied, self.page_no, self.error, self.purge_open = self._fields(), 0, "", False
        self.form_key += 1
        return await self._reload()

    @rx.event
    def set_type(self, value: str):
        """The type select applies at once (as one-api's tabs): it submits the filter form."""
        self.f_type = str(value)
        return rx.call_script("document.getElementById('log-filter-form').requestSubmit()")

    @rx.event
    async def search(self, form: dict | None = None):
        # The submitted form carries every filter input (named after its field; uncontrolled, so never stale).
        for name, value in (form or {}).items():
            if name in FILTER_FIELDS:
                setattr(self, name, str(value))
        return await self._apply()

    async def _apply(self):
        user_id, admin = await self._who()
        try:
            build_filter(self._fields(), user_id, admin, await lang_of(self))  # check the inputs first
        except Exception as exc:  # noqa: BLE001
            return await self._fail(exc)
        self._applied, self.page_no = self._fields(), 0
        return await self._reload()

    @rx.event
    async def reset_filters(self):
        return await self._clear()

    @rx.event
    async def go_page(self, delta: int):
        self.page_no = max(0, self.page_no + int(delta))
        return await self._reload()

    # ---- admin: purge

    @rx.event
    def set_purge_date(self, value: str):
        self.purge_date = str(value)

    @rx.event
    async def ask_purge(self):
        _, admin = await self._who()
        if not admin:
            return rx.toast.error(t("shell.admins_only", await lang_of(self)))
        try:
            if not parse_local_datetime(self.purge_date, "date"):
                raise UiError("logs.choose_date")
        except ValueError as exc:
            return await self._fail(exc)
        self.purge_open = True

    @rx.event
    def cancel_purge(self):
        self.purge_open = False

    @rx.event
    @writes(Role.ADMIN, error="error", action="log page action")
    async def confirm_purge(self, w: Write):
        self.purge_open = False
        before = parse_local_datetime(self.purge_date, "date")
        if not before:
            raise UiError("logs.choose_date")
        count = await log_service.purge_before(w.runtime.db, before)
        self.page_no = 0
        failed = await self._reload()
        return failed or rx.toast.success(t("logs.purged", await lang_of(self), count=count, date=self.purge_date))


# --- the page ---------------------------------------------------------------------------------------------

def _filter_input(field: str, element_id: str, placeholder, **props) -> rx.Component:
    return rx.input(default_value=getattr(LogsState, field), id=element_id, name=field, placeholder=placeholder, size="2", **props)


SELECT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
                "background": "var(--color-surface)", "color": "var(--gray-12)"}


def _filter_bar() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.el.select(
                *[rx.el.option(tr(label), value=str(int(value))) for value, label in TYPE_LABELS.items()],
                value=LogsState.f_type, on_change=LogsState.set_type, id="log-filter-type", name="f_type",
                style=SELECT_STYLE, aria_label=tr("logs.type"),
            ),
            _filter_input("f_token", "log-filter-token", tr("logs.token_name"), width="150px"),
            _filter_input("f_model", "log-filter-model", tr("logs.model_name"), width="150px"),
            rx.cond(LogsState.admin, rx.fragment(
                _filter_input("f_username", "log-filter-username", tr("logs.username"), width="130px"),
                _filter_input("f_channel", "log-filter-channel", tr("logs.channel_id"), width="100px",
                              input_mode="numeric"),
            )),
            rx.hstack(rx.text(tr("logs.from"), size="2"),
                      _filter_input("f_start", "log-filter-start", "", type="datetime-local"),
                      rx.text(tr("logs.to"), size="2"),
                      _filter_input("f_end", "log-filter-end", "", type="datetime-local"),
                      align="center", spacing="2", wrap="wrap"),
            rx.button(rx.icon("search", size=14), tr("common.search"), type="submit", id="log-search"),
            rx.button(tr("common.reset"), type="button", variant="soft", color_scheme="gray", on_click=LogsState.reset_filters,
                      id="log-reset"),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        on_submit=LogsState.search,
        reset_on_submit=False,
        width="100%",
        id="log-filter-form",
        key=LogsState.form_key,
    )


def _purge_bar() -> rx.Component:
    return rx.hstack(
        rx.text(tr("logs.purge_label"), size="2"),
        rx.input(type="date", value=LogsState.purge_date, on_change=LogsState.set_purge_date, id="log-purge-date",
                 size="2"),
        rx.button(rx.icon("trash-2", size=14), tr("common.delete"), color_scheme="red", variant="soft", on_click=LogsState.ask_purge,
                  id="log-purge"),
        align="center",
        spacing="2",
        wrap="wrap",
        id="log-purge-bar",
    )


@page("/log", "page.logs", nav="page.logs", icon="scroll-text", min_role=Role.COMMON, on_load=(LogsState.load,))
def logs_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.logs"), size="5"),
        _filter_bar(),
        rx.hstack(
            rx.text(tr("logs.stat"), " ", rx.text.strong(LogsState.stat), size="2", id="log-stat"),
            rx.spacer(),
            rx.cond(LogsState.admin, _purge_bar()),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        error_callout(LogsState.error, "log-error"),
        rx.box(log_table(LogsState), width="100%", overflow_x="auto"),
        rx.cond(LogsState.rows.length() == 0,  # type: ignore[attr-defined]  # a Reflex Var, not a list
                rx.text(tr("logs.empty"), color_scheme="gray", size="2", id="log-empty")),
        pager(LogsState, "log", id="log-page"),
        confirm_dialog(tr("logs.purge_title"), rx.text(tr("logs.purge_text", date=LogsState.purge_date)),
                       LogsState.purge_open, LogsState.cancel_purge, LogsState.confirm_purge, "log-purge-cancel",
                       "log-purge-confirm", id="log-purge-dialog"),
        spacing="3",
        width="100%",
    )
