"""The Logs page's table (one row per log, newest first).

It takes the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from .widgets import match_badge

MUTED = {"color": "var(--gray-11)", "font_size": "11px"}


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
        rx.table.cell(row["token"], class_name="log-token"),
        rx.table.cell(row["model"], class_name="log-model"),
        rx.table.cell(row["prompt"], class_name="log-prompt"),
        rx.table.cell(row["completion"], class_name="log-completion"),
        rx.table.cell(rx.text(row["quota"], size="1", white_space="nowrap"), class_name="log-quota"),
        rx.table.cell(rx.hstack(
            rx.cond(row["elapsed"] != "", rx.badge(row["elapsed"], variant="soft", color_scheme="gray",
                                                   class_name="log-elapsed")),
            rx.cond(row["stream"] == "1", rx.badge("Stream", variant="outline", class_name="log-stream")),
            spacing="1",
        )),
        rx.table.cell(
            rx.text(row["request_id"], style=MUTED, class_name="log-request-id", title=row["request_id"],
                    max_width="120px", overflow="hidden", text_overflow="ellipsis", white_space="nowrap"),
        ),
        rx.table.cell(
            rx.text(row["content"], size="1", title=row["content"], max_width="280px", overflow="hidden",
                    text_overflow="ellipsis", white_space="nowrap", class_name="log-content"),
        ),
        class_name="log-row",
        data_log_type=row["type"],
    )


def log_table(state) -> rx.Component:
    def header(label: str) -> rx.Component:
        return rx.table.column_header_cell(label)

    return rx.table.root(
        rx.table.header(rx.table.row(
            header("Time"), header("Type"),
            rx.cond(state.admin, header("User")), rx.cond(state.admin, header("Channel")),
            header("Token"), header("Model"), header("Prompt"), header("Completion"), header("Quota"),
            header("Elapsed"), header("Request ID"), header("Detail"),
        )),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row))),
        variant="surface",
        size="1",
        width="100%",
        id="log-table",
    )
