"""The Channels page's table: one row per channel (never its key), with the per-row actions.

It takes the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .widgets import match_badge


def _status_badge(row) -> rx.Component:
    return match_badge(row["status"], [("1", tr("common.enabled"), "green"), ("2", tr("common.disabled"), "gray"),
                                       ("3", tr("channels.auto_disabled"), "red")], row["status_label"])


def _row(state, row) -> rx.Component:
    cid = row["id"]
    return rx.table.row(
        rx.table.cell(cid),
        rx.table.cell(rx.text(row["name"], class_name="channel-name")),
        rx.table.cell(row["type"]),
        rx.table.cell(_status_badge(row), class_name="channel-status"),
        rx.table.cell(row["group"]),
        rx.table.cell(rx.tooltip(rx.text(row["models"], size="1"), content=row["models_full"])),
        rx.table.cell(rx.input(default_value=row["priority"], width="64px", size="1", key=cid + "-" + row["priority"],
                               on_blur=lambda v: state.set_priority(cid, v),
                               id="channel-priority-" + cid)),
        rx.table.cell(row["weight"]),
        rx.table.cell(row["response_time"]),
        rx.table.cell(rx.button(row["balance"], size="1", variant="ghost", on_click=state.refresh_balance(cid),
                                title=tr("channels.balance_refresh"), class_name="channel-balance")),
        rx.table.cell(row["used_quota"]),
        rx.table.cell(rx.hstack(
            rx.button(tr("channels.test"), size="1", variant="soft", on_click=state.test(cid), class_name="channel-test",
                      id="channel-test-" + cid),
            rx.button(rx.icon("chevron-down", size=12), size="1", variant="soft", on_click=state.open_test(cid),
                      class_name="channel-test-model", title=tr("channels.test_model_title")),
            rx.cond(
                row["status"] == "1",
                rx.button(tr("common.disable"), size="1", variant="soft", color_scheme="orange", class_name="channel-disable",
                          on_click=state.set_status(cid, False)),
                rx.button(tr("common.enable"), size="1", variant="soft", color_scheme="green", class_name="channel-enable",
                          on_click=state.set_status(cid, True)),
            ),
            rx.button(tr("common.edit"), size="1", variant="soft", on_click=state.open_edit(cid), class_name="channel-edit"),
            rx.button(tr("common.delete"), size="1", variant="soft", color_scheme="red", class_name="channel-delete",
                      on_click=state.ask_delete(cid, row["name"])),
            spacing="1",
        )),
        class_name="channel-row",
        id="channel-row-" + cid,
    )


def channel_table(state) -> rx.Component:
    headers = ["channels.id", "channels.name", "channels.type", "channels.status", "channels.groups", "channels.models",
               "channels.priority", "channels.weight", "channels.response", "channels.balance_col", "channels.used",
               "common.actions"]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(h)) for h in headers])),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row))),
        variant="surface",
        size="1",
        width="100%",
        id="channel-table",
    )
