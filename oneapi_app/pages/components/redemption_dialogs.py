"""The Redemptions page's table and dialogs (add codes / edit, the codes just created).

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .widgets import editor_buttons, error_callout, labeled, match_badge, text_field


def _status_badge(row) -> rx.Component:
    return match_badge(row["status"], [("1", tr("redemptions.unused"), "green"),
                                         ("2", tr("common.disabled"), "red"), ("3", tr("redemptions.used"), "gray")],
                       row["status_label"])


def _row(state, row) -> rx.Component:
    rid = row["id"]
    return rx.table.row(
        rx.table.cell(rid),
        rx.table.cell(rx.text(row["name"], class_name="redemption-name")),
        rx.table.cell(_status_badge(row), class_name="redemption-status"),
        rx.table.cell(row["quota"], class_name="redemption-quota"),
        rx.table.cell(row["created"]),
        rx.table.cell(row["redeemed"], class_name="redemption-redeemed"),
        rx.table.cell(rx.hstack(
            rx.cond(
                row["status"] == "1",
                rx.button(tr("common.disable"), size="1", variant="soft", color_scheme="orange", class_name="redemption-toggle",
                          on_click=state.set_status(rid, False)),
                rx.button(tr("common.enable"), size="1", variant="soft", color_scheme="green", class_name="redemption-toggle",
                          disabled=row["status"] == "3", on_click=state.set_status(rid, True)),
            ),
            rx.button(tr("common.edit"), size="1", variant="soft", on_click=state.open_edit(rid), class_name="redemption-edit"),
            rx.button(tr("common.delete"), size="1", variant="soft", color_scheme="red", class_name="redemption-delete",
                      on_click=state.ask_delete(rid, row["name"])),
            spacing="1",
        )),
        class_name="redemption-row",
        id="redemption-row-" + rid,
    )


def redemption_table(state) -> rx.Component:
    headers = ["redemptions.id", "redemptions.name", "redemptions.status", "redemptions.quota",
               "redemptions.created_at", "redemptions.redeemed_at", "common.actions"]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(h)) for h in headers])),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row))),
        variant="surface",
        size="1",
        width="100%",
        id="redemption-table",
    )


def editor_dialog(state) -> rx.Component:
    editing = state.edit_id != 0
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, tr("redemptions.edit_title", id=state.edit_id),
                                    tr("redemptions.add_title"))),
            rx.vstack(
                labeled(tr("redemptions.name"), text_field(state, "f_name", "redemption-name", tr("redemptions.name_hint"))),
                labeled(tr("redemptions.quota"), text_field(state, "f_quota", "redemption-quota", "500000"),
                        tr("redemptions.quota_hint")),
                rx.cond(~editing, labeled(tr("redemptions.count"), text_field(state, "f_count", "redemption-count", "1"),
                                          tr("redemptions.count_hint"))),
                error_callout(state.error, "redemption-error"),
                editor_buttons("redemption", editing, on_click=state.save),
                spacing="3",
                width="100%",
            ),
            max_width="480px",
            id="redemption-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )


def codes_dialog(state) -> rx.Component:
    """The codes just created: shown once (closing the dialog forgets them)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("redemptions.new_title")),
            rx.dialog.description(tr("redemptions.new_intro"), size="2"),
            rx.vstack(
                rx.foreach(state.codes, lambda code: rx.code(code, class_name="redemption-code")),
                spacing="1",
                id="redemption-codes",
                margin_y="12px",
                max_height="50vh",
                overflow_y="auto",
            ),
            rx.hstack(
                rx.button(rx.icon("copy", size=14), tr("redemptions.copy_all"), on_click=state.copy_codes, id="redemption-copy"),
                rx.button(rx.icon("download", size=14), tr("redemptions.download"), variant="soft", on_click=state.download_codes,
                          id="redemption-download"),
                rx.dialog.close(rx.button(tr("redemptions.close"), variant="soft", color_scheme="gray", on_click=state.close_codes,
                                          id="redemption-codes-close")),
                justify="end",
                spacing="2",
                wrap="wrap",
            ),
            max_width="520px",
        ),
        open=state.codes.length() > 0,
        on_open_change=state.codes_open_change,
    )
