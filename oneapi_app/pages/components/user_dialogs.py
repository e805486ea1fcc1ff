"""The Users page's table and editor dialog (add / edit user).

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .widgets import editor_buttons, error_callout, labeled, match_badge, text_field


def _role_badge(row) -> rx.Component:
    return match_badge(row["role"], [("100", tr("users.role_root"), "purple"),
                                     ("10", tr("users.role_admin"), "blue"),
                                     ("1", tr("users.role_common"), "gray")], row["role_label"], "gray")


def _status_badge(row) -> rx.Component:
    return match_badge(row["status"], [("1", tr("common.enabled"), "green"),
                                         ("2", tr("common.disabled"), "red")], row["status_label"])


def _row(state, row, is_root) -> rx.Component:
    uid = row["id"]
    return rx.table.row(
        rx.table.cell(uid),
        rx.table.cell(rx.text(row["username"], class_name="user-name")),
        rx.table.cell(row["display_name"]),
        rx.table.cell(row["group"]),
        rx.table.cell(_role_badge(row), class_name="user-role"),
        rx.table.cell(_status_badge(row), class_name="user-status"),
        rx.table.cell(rx.vstack(rx.text(row["quota"], size="1", class_name="user-quota"),
                                rx.text(row["used_quota"], size="1", color="gray", class_name="user-used"),
                                spacing="0")),
        rx.table.cell(row["request_count"]),
        rx.table.cell(rx.hstack(
            rx.button(tr("common.edit"), size="1", variant="soft", on_click=state.open_edit(uid), class_name="user-edit"),
            rx.cond(
                row["status"] == "1",
                rx.button(tr("common.disable"), size="1", variant="soft", color_scheme="orange", class_name="user-toggle",
                          on_click=state.manage(uid, "disable")),
                rx.button(tr("common.enable"), size="1", variant="soft", color_scheme="green", class_name="user-toggle",
                          on_click=state.manage(uid, "enable")),
            ),
            rx.cond(
                row["role"] == "1",
                rx.cond(is_root, rx.button(tr("users.promote"), size="1", variant="soft", class_name="user-promote",
                                           on_click=state.manage(uid, "promote"))),
                rx.cond(row["role"] == "10",
                        rx.button(tr("users.demote"), size="1", variant="soft", color_scheme="gray", class_name="user-demote",
                                  on_click=state.manage(uid, "demote"))),
            ),
            rx.button(tr("common.delete"), size="1", variant="soft", color_scheme="red", class_name="user-delete",
                      on_click=state.ask_delete(uid, row["username"])),
            spacing="1",
        )),
        class_name="user-row",
        id="user-row-" + uid,
    )


def user_table(state, is_root) -> rx.Component:
    headers = ["users.id", "users.username", "users.display_name", "users.group", "users.role", "users.status",
               "users.quota_used", "users.requests", "common.actions"]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(h)) for h in headers])),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row, is_root))),
        variant="surface",
        size="1",
        width="100%",
        id="user-table",
    )


def editor_dialog(state) -> rx.Component:
    editing = state.edit_id != 0
    fields = rx.vstack(
        labeled(tr("users.username"), rx.cond(
            editing,
            rx.input(value=state.f_username, read_only=True, id="user-username", width="100%"),
            text_field(state, "f_username", "user-username", tr("users.username_hint")),
        )),
        labeled(tr("users.display_name"), text_field(state, "f_display_name", "user-display-name",
                                                      tr("users.optional"))),
        rx.cond(
            editing,
            rx.grid(
                labeled(tr("users.group"), text_field(state, "f_group", "user-group", "default")),
                labeled(tr("users.quota"), text_field(state, "f_quota", "user-quota", "0"), tr("users.quota_hint")),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="3",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )
    # Only the password is in the form: it is sent once with the submit, never kept in the state.
    form = rx.form(
        rx.vstack(
            labeled(
                tr("users.password"),
                rx.input(name="password", type="password", id="user-password", width="100%",
                         auto_complete="new-password",
                         placeholder=rx.cond(editing, tr("users.password_keep"), tr("users.password_hint"))),
            ),
            error_callout(state.error, "user-error"),
            editor_buttons("user", editing, type="submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=state.save,
        reset_on_submit=False,
        id="user-form",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, tr("users.edit_title", id=state.edit_id), tr("users.add_title"))),
            rx.vstack(fields, form, spacing="3", width="100%"),
            max_width="520px",
            id="user-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )
