"""The Users page's table and dialogs (add / edit user, delete confirmation).

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx


def _labeled(label: str, control: rx.Component, hint: str | rx.Var | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        *([rx.text(hint, size="1", color="gray")] if hint is not None else []),
        spacing="1",
        width="100%",
    )


def _role_badge(row) -> rx.Component:
    return rx.match(
        row["role"],
        ("100", rx.badge("Root", color_scheme="purple")),
        ("10", rx.badge("Admin", color_scheme="blue")),
        rx.badge(row["role_label"], color_scheme="gray"),
    )


def _status_badge(row) -> rx.Component:
    return rx.match(
        row["status"],
        ("1", rx.badge("Enabled", color_scheme="green")),
        ("2", rx.badge("Disabled", color_scheme="red")),
        rx.badge(row["status_label"], color_scheme="orange"),
    )


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
            rx.button("Edit", size="1", variant="soft", on_click=state.open_edit(uid), class_name="user-edit"),
            rx.cond(
                row["status"] == "1",
                rx.button("Disable", size="1", variant="soft", color_scheme="orange", class_name="user-toggle",
                          on_click=state.manage(uid, "disable")),
                rx.button("Enable", size="1", variant="soft", color_scheme="green", class_name="user-toggle",
                          on_click=state.manage(uid, "enable")),
            ),
            rx.cond(
                row["role"] == "1",
                rx.cond(is_root, rx.button("Promote", size="1", variant="soft", class_name="user-promote",
                                           on_click=state.manage(uid, "promote"))),
                rx.cond(row["role"] == "10",
                        rx.button("Demote", size="1", variant="soft", color_scheme="gray", class_name="user-demote",
                                  on_click=state.manage(uid, "demote"))),
            ),
            rx.button("Delete", size="1", variant="soft", color_scheme="red", class_name="user-delete",
                      on_click=state.ask_delete(uid, row["username"])),
            spacing="1",
        )),
        class_name="user-row",
        id="user-row-" + uid,
    )


def user_table(state, is_root) -> rx.Component:
    headers = ["ID", "Username", "Display name", "Group", "Role", "Status", "Quota / used", "Requests", "Actions"]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row, is_root))),
        variant="surface",
        size="1",
        width="100%",
        id="user-table",
    )


def _text(state, field: str, element_id: str, placeholder="", **props) -> rx.Component:
    return rx.input(value=getattr(state, field), on_change=lambda v: state.set_field(field, v), id=element_id,
                    placeholder=placeholder, width="100%", **props)


def editor_dialog(state) -> rx.Component:
    editing = state.edit_id != 0
    fields = rx.vstack(
        _labeled("Username", rx.cond(
            editing,
            rx.input(value=state.f_username, read_only=True, id="user-username", width="100%"),
            _text(state, "f_username", "user-username", "1-12 characters"),
        )),
        _labeled("Display name", _text(state, "f_display_name", "user-display-name", "Optional")),
        rx.cond(
            editing,
            rx.grid(
                _labeled("Group", _text(state, "f_group", "user-group", "default")),
                _labeled("Quota", _text(state, "f_quota", "user-quota", "0"),
                         "Applied as a change to the current quota, logged."),
                columns="2",
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
            _labeled(
                "Password",
                rx.input(name="password", type="password", id="user-password", width="100%",
                         auto_complete="new-password",
                         placeholder=rx.cond(editing, "Leave empty to keep the password", "8-20 characters")),
            ),
            rx.cond(state.error != "", rx.callout(state.error, color_scheme="red", icon="triangle_alert",
                                                  id="user-error", width="100%")),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray",
                                          id="user-cancel")),
                rx.button(rx.cond(editing, "Save", "Create"), type="submit", id="user-submit"),
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=state.save,
        reset_on_submit=False,
        id="user-form",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, "Edit user #" + state.edit_id.to_string(), "Add user")),
            rx.vstack(fields, form, spacing="3", width="100%"),
            max_width="520px",
            id="user-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )


def confirm_dialog(state) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Please confirm"),
            rx.alert_dialog.description(state.confirm_text),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=state.cancel_confirm, id="user-confirm-cancel")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=state.confirm_delete,
                                                 id="user-confirm")),
                justify="end",
                spacing="2",
                margin_top="16px",
            ),
        ),
        open=state.confirm_id != 0,
    )
