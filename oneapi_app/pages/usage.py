"""Usage (logged-in users): requests, quota and tokens of the last 7 or 30 days per day and per model as charts,
today's totals, the top models, tokens and (admins) users. Users see their own usage; admins everyone's, or
their own. Numbers come from the consume logs through ``services.stats``."""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from ..models import Role
from ..services import stats
from .common import format_quota
from .components.usage_charts import charts, ranking_table, stat_card
from .registry import page
from .state import SessionState
from .texts import tr

KEYS = ("requests", "quota", "tokens", "prompt", "completion", "chart_requests", "chart_quota", "chart_tokens",
        "chart_models", "top_models", "top_tokens", "top_users", "model", "token", "user")


def _text() -> dict:
    """The page's texts in the browser's language (the table's ``usage.*`` ids)."""
    return {key: tr(f"usage.{key}") for key in KEYS}


def _usd(quota: int, per_unit: float) -> float:
    return round(quota / (per_unit or 500000), 6)


def chart_rows(report: stats.Usage, per_unit: float) -> list[dict]:
    """One point per day for the charts: requests, $ spent, prompt and completion tokens."""
    return [{"day": day[5:], "requests": t.requests, "usd": _usd(t.quota, per_unit), "quota": t.quota,
             "prompt": t.prompt_tokens, "completion": t.completion_tokens} for day, t in report.per_day]


def model_rows(report: stats.Usage, per_unit: float) -> list[dict]:
    return [{"model": model, "requests": t.requests, "usd": _usd(t.quota, per_unit), "tokens": t.tokens}
            for model, t in report.per_model[:stats.TOP]]


def ranking(rows: list[tuple[str, stats.Totals]], in_currency: bool, per_unit: float) -> list[dict[str, str]]:
    return [{"name": name, "requests": f"{t.requests:,}", "tokens": f"{t.tokens:,}",
             "quota": format_quota(t.quota, in_currency, per_unit)} for name, t in rows]


class UsageState(rx.State):
    days: str = "7"
    scope: str = "all"  # admins: "all" or "self"
    can_see_all: bool = False
    per_day: list[dict] = []
    per_model: list[dict] = []
    top_models: list[dict[str, str]] = []
    top_tokens: list[dict[str, str]] = []
    top_users: list[dict[str, str]] = []
    today_requests: str = "0"
    today_quota: str = "0"
    today_tokens: str = "0"
    range_requests: str = "0"
    range_quota: str = "0"
    range_tokens: str = "0"
    loaded: bool = False

    @rx.var
    def has_users(self) -> bool:
        return bool(self.top_users)

    async def _reload(self) -> None:
        session_state = await self.get_state(SessionState)
        user = await session_state._fresh_user()
        if user is None:
            self.loaded = False
            return
        self.can_see_all = user.role >= Role.ADMIN
        everyone = self.can_see_all and self.scope == "all"
        rt = runtime()
        in_currency, per_unit = bool(rt.options.DisplayInCurrencyEnabled), float(rt.options.QuotaPerUnit)
        report = await stats.usage(rt.db, None if everyone else user.id, int(self.days or 7))
        self.per_day = chart_rows(report, per_unit)
        self.per_model = model_rows(report, per_unit)
        self.top_models = ranking(report.per_model[:stats.TOP], in_currency, per_unit)
        self.top_tokens = ranking(report.per_token, in_currency, per_unit)
        self.top_users = ranking(report.per_user, in_currency, per_unit) if everyone else []
        self.today_requests, self.today_tokens = f"{report.today.requests:,}", f"{report.today.tokens:,}"
        self.today_quota = format_quota(report.today.quota, True, per_unit)
        self.range_requests, self.range_tokens = f"{report.total.requests:,}", f"{report.total.tokens:,}"
        self.range_quota = format_quota(report.total.quota, True, per_unit)
        self.loaded = True

    @rx.event
    async def load(self):
        await self._reload()

    @rx.event
    async def set_days(self, value: str):
        self.days = "30" if str(value) == "30" else "7"
        await self._reload()

    @rx.event
    async def set_scope(self, value: str):
        self.scope = "self" if str(value) == "self" else "all"
        await self._reload()


SELECT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
                "background": "var(--color-surface)", "color": "var(--gray-12)"}


@page("/dashboard", "page.usage", nav="page.usage", icon="chart-column", min_role=Role.COMMON,
      on_load=(UsageState.load,))
def usage_page() -> rx.Component:
    s = UsageState
    text = _text()
    return rx.vstack(
        rx.heading(tr("page.usage"), size="5"),
        rx.hstack(
            rx.el.select(rx.el.option(tr("usage.days_7"), value="7"), rx.el.option(tr("usage.days_30"), value="30"),
                         value=s.days, on_change=s.set_days, id="usage-days", style=SELECT_STYLE),
            rx.cond(s.can_see_all, rx.el.select(
                rx.el.option(tr("usage.scope_all"), value="all"), rx.el.option(tr("usage.scope_self"), value="self"),
                value=s.scope, on_change=s.set_scope, id="usage-scope", style=SELECT_STYLE)),
            rx.button(rx.icon("refresh-cw", size=14), tr("usage.refresh"), variant="soft", on_click=s.load,
                      id="usage-refresh"),
            spacing="2",
            wrap="wrap",
        ),
        rx.grid(
            stat_card(tr("usage.today_requests"), s.today_requests, "usage-today-requests"),
            stat_card(tr("usage.today_quota"), s.today_quota, "usage-today-quota"),
            stat_card(tr("usage.today_tokens"), s.today_tokens, "usage-today-tokens"),
            stat_card(tr("usage.range_requests"), s.range_requests, "usage-range-requests"),
            stat_card(tr("usage.range_quota"), s.range_quota, "usage-range-quota"),
            stat_card(tr("usage.range_tokens"), s.range_tokens, "usage-range-tokens"),
            columns=rx.breakpoints(initial="2", md="3"),
            spacing="3",
            width="100%",
        ),
        charts(s, text),
        ranking_table(text, text["top_models"], text["model"], s.top_models, "usage-top-models"),
        ranking_table(text, text["top_tokens"], text["token"], s.top_tokens, "usage-top-tokens"),
        rx.cond(s.has_users,
                ranking_table(text, text["top_users"], text["user"], s.top_users, "usage-top-users")),
        rx.text(tr("usage.utc_note"), size="1", color="gray"),
        spacing="3",
        width="100%",
    )
