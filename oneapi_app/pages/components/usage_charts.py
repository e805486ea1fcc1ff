"""The Usage page's pieces: a stat card, the charts (Reflex's recharts components) and a ranking table.

They take the page's State class and text table so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

CHART_HEIGHT = 220


def stat_card(label, value, element_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(rx.text(label, size="1", color="gray"), rx.text(value, size="4", weight="bold", id=element_id),
                  spacing="1"),
        width="100%",
    )


def _chart_card(title, chart: rx.Component, element_id: str) -> rx.Component:
    return rx.card(rx.vstack(rx.text(title, size="2", weight="medium"), chart, spacing="2", width="100%"),
                   width="100%", id=element_id)


def _axes(key: str) -> list[rx.Component]:
    return [rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key=key, font_size=11),
            rx.recharts.y_axis(font_size=11, width=48),
            rx.recharts.graphing_tooltip()]


def charts(state, text: dict) -> rx.Component:
    requests = rx.recharts.bar_chart(
        rx.recharts.bar(data_key="requests", name=text["requests"], fill="var(--accent-9)", is_animation_active=False),
        *_axes("day"), data=state.per_day, height=CHART_HEIGHT, width="100%")
    spent = rx.recharts.area_chart(
        rx.recharts.area(data_key="usd", name="USD", stroke="var(--green-9)", fill="var(--green-a5)",
                         is_animation_active=False),
        *_axes("day"), data=state.per_day, height=CHART_HEIGHT, width="100%")
    tokens = rx.recharts.bar_chart(
        rx.recharts.bar(data_key="prompt", name=text["prompt"], stack_id="t", fill="var(--blue-9)",
                        is_animation_active=False),
        rx.recharts.bar(data_key="completion", name=text["completion"], stack_id="t", fill="var(--orange-9)",
                        is_animation_active=False),
        rx.recharts.legend(),
        *_axes("day"), data=state.per_day, height=CHART_HEIGHT, width="100%")
    models = rx.recharts.bar_chart(
        rx.recharts.bar(data_key="requests", name=text["requests"], fill="var(--violet-9)",
                        is_animation_active=False),
        *_axes("model"), data=state.per_model, height=CHART_HEIGHT, width="100%")
    return rx.grid(
        _chart_card(text["chart_requests"], requests, "usage-chart-requests"),
        _chart_card(text["chart_quota"], spent, "usage-chart-quota"),
        _chart_card(text["chart_tokens"], tokens, "usage-chart-tokens"),
        _chart_card(text["chart_models"], models, "usage-chart-models"),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="3",
        width="100%",
    )


def ranking_table(text: dict, title, first, rows, element_id: str) -> rx.Component:
    """Name first (the key column), then requests, tokens, quota; scrolls sideways on a phone."""
    return rx.vstack(
        rx.text(title, size="3", weight="medium"),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               (first, text["requests"], text["tokens"], text["quota"])])),
                rx.table.body(rx.foreach(rows, lambda row: rx.table.row(
                    rx.table.cell(row["name"]), rx.table.cell(row["requests"]), rx.table.cell(row["tokens"]),
                    rx.table.cell(row["quota"]), class_name=element_id + "-row"))),
                variant="surface", size="1", width="100%", id=element_id,
            ),
            width="100%", overflow_x="auto",
        ),
        spacing="2",
        width="100%",
    )
