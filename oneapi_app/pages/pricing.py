"""Model prices (logged-in users): every model the user's group reaches (its enabled abilities) with its model
ratio, completion ratio and group ratio, and what 1M input / output tokens cost in US dollars (one-api: ratio 1
= $0.002 per 1K tokens; QuotaPerUnit quota = $1). Read through ``services.stats.model_prices``."""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from ..models import Role
from ..services import stats
from .registry import page
from .state import SessionState
from .texts import tr


def _ratio(value: float) -> str:
    return f"{value:g}"


def _usd(value: float) -> str:
    return f"${value:,.6f}".rstrip("0").rstrip(".") if value else "$0"


def price_row(price: stats.ModelPrice, quota_per_unit: float) -> dict[str, str]:
    return {"model": price.model, "input": _usd(price.usd_per_million(quota_per_unit)),
            "output": _usd(price.usd_per_million(quota_per_unit, output=True)),
            "model_ratio": _ratio(price.model_ratio), "completion_ratio": _ratio(price.completion_ratio),
            "group_ratio": _ratio(price.group_ratio)}


class PricingState(rx.State):
    rows: list[dict[str, str]] = []
    filter: str = ""
    group: str = ""
    group_ratio: str = ""
    loaded: bool = False

    @rx.event
    async def load(self):
        user = await (await self.get_state(SessionState))._fresh_user()
        if user is None:
            self.rows, self.loaded = [], False
            return
        rt = runtime()
        async with rt.db.session() as session:
            prices = await stats.model_prices(session, rt.options, user.group or "default")
        per_unit = float(rt.options.QuotaPerUnit)
        self.rows = [price_row(p, per_unit) for p in prices]
        group_ratio = prices[0].group_ratio if prices else 1.0
        self.group, self.group_ratio = user.group or "default", _ratio(group_ratio)
        self.loaded = True

    @rx.event
    def set_filter(self, value: str):
        self.filter = str(value)[:100]

    @rx.var
    def has_rows(self) -> bool:
        return bool(self.rows)

    @rx.var
    def shown(self) -> list[dict[str, str]]:
        needle = self.filter.strip().lower()
        return [row for row in self.rows if needle in row["model"].lower()] if needle else self.rows


COLUMNS = ("model", "input", "output", "model_ratio", "completion_ratio", "group_ratio")


@page("/pricing", "page.pricing", nav="page.pricing", icon="badge-dollar-sign", min_role=Role.COMMON,
      on_load=(PricingState.load,))
def pricing_page() -> rx.Component:
    s = PricingState
    return rx.vstack(
        rx.heading(tr("page.pricing"), size="5"),
        rx.text(tr("pricing.intro", group=s.group, ratio=s.group_ratio), size="2", color="gray", id="pricing-intro"),
        rx.input(placeholder=tr("pricing.search"), value=s.filter, on_change=s.set_filter, id="pricing-filter",
                 max_width="320px", width="100%"),
        rx.cond(
            s.loaded & ~s.has_rows,
            rx.callout(tr("pricing.none"), icon="info", id="pricing-empty"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(f"pricing.{c}")) for c in COLUMNS])),
                    rx.table.body(rx.foreach(s.shown, lambda row: rx.table.row(
                        *[rx.table.cell(row[c], class_name="pricing-" + c.replace("_", "-")) for c in COLUMNS],
                        class_name="pricing-row", id="pricing-row-" + row["model"]))),
                    variant="surface", size="1", width="100%", id="pricing-table",
                ),
                width="100%", overflow_x="auto",
            ),
        ),
        spacing="3",
        width="100%",
    )
