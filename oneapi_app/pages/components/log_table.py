"""The Logs page's table (one row per log, newest first).

It takes the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .widgets import match_badge

MUTED = {"color": "var(--gray-11)", "font_size": "11px"}
WRAP = {"word_break": "break-all", "min_width": "80px"}
# the detail shows three lines at most (the whole text is its tooltip)
CLAMP = {"display": "-webkit-box", "-webkit-line-clamp": "3", "-webkit-box-orient": "vertical", "overflow": "hidden",
         "word_break": "break-word"}


def _type_badge(row) -> rx.Component:
    label = row["type_label"]
    colors = [("1", "green"), ("2", "blue"), ("3", "orange"), ("4", "purple"), ("5", "violet")]
    return match_badge(row["type"], [(key, label, color) for key, color in colors], label, "gray", "log-type")


def _row(state, row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["time"], size="1", white_space="nowrap"), class_name="log-time"),
        rx.table.cell(_type_badge(row)),
        rx.cond(state.admin, rx.table.cell(row["username"], class_name="log-username")),
        rx.cond(state.admin, rx.table.cell(row["channel"], class_name="log-channel")),
        rx.table.cell(row["token"], class_name="log-token", style=WRAP),
        rx.table.cell(row["model"], class_name="log-model", style=WRAP),
        rx.table.cell(rx.hstack(rx.text(row["prompt"], class_name="log-prompt"), rx.text("/", color="var(--gray-9)"),
                                rx.text(row["completion"], class_name="log-completion"), spacing="1")),
        rx.table.cell(rx.text(row["quota"], size="1"), class_name="log-quota"),
        rx.table.cell(rx.vstack(
            rx.cond(row["elapsed"] != "", rx.badge(row["elapsed"], variant="soft", color_scheme="gray",
                                                   class_name="log-elapsed")),
            rx.cond(row["stream"] == "1", rx.badge(tr("logs.stream"), variant="outline", class_name="log-stream")),
            spacing="1",
        )),
        rx.table.cell(
            rx.text(row["content"], size="1", title=row["content"], class_name="log-content", style=CLAMP),
            rx.cond(row["request_id"] != "",
                    rx.text(row["request_id"], style=MUTED, class_name="log-request-id", title=row["request_id"],
                            overflow="hidden", text_overflow="ellipsis", white_space="nowrap", max_width="220px")),
            min_width="160px",
            class_name="log-detail",
        ),
        class_name="log-row",
        data_log_type=row["type"],
    )


def log_table(state) -> rx.Component:
    """Time, type, (user, channel), token, model, prompt / completion tokens, quota, elapsed and stream, and the
    detail (its request id below): fits 1280 px with the sidebar; narrower screens scroll it sideways."""
    def header(msg_id: str) -> rx.Component:
        return rx.table.column_header_cell(tr(msg_id))

    return rx.table.root(
        rx.table.header(rx.table.row(
            header("logs.time"), header("logs.type"),
            rx.cond(state.admin, header("logs.user")), rx.cond(state.admin, header("logs.channel")),
            header("logs.token"), header("logs.model"), header("logs.tokens"), header("logs.quota"),
            header("logs.elapsed"), header("logs.detail"),
        )),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row))),
        variant="surface",
        size="1",
        width="100%",
        id="log-table",
    )
