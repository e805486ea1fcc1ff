"""The Tokens page's table row, editor dialog (add / edit) and delete confirmation.

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..chat_links import APPS
from ..texts import tr
from .widgets import confirm_dialog, error_callout, labeled, match_badge


def _status_badge(row) -> rx.Component:
    label = row["status_label"]
    return match_badge(row["status"], [("1", label, "green"), ("2", label, "gray")], label, class_name="token-status")


def _chat_menu(state, row) -> rx.Component:
    """One API's per-token chat links: NextChat (or the ChatLink option's), LobeChat, AMA, OpenCat."""
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("message-square", size=14), tr("tokens.chat"), size="1", variant="soft",
                                  class_name="token-chat")),
        rx.menu.content(*[rx.menu.item(label, class_name=f"token-chat-{app}", on_click=state.open_chat(row["id"], app))
                          for app, label in APPS]),
    )


def token_row_view(state, row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], class_name="token-name")),
        rx.table.cell(_status_badge(row)),
        rx.table.cell(row["used"]),
        rx.table.cell(row["remaining"], class_name="token-remaining"),
        rx.table.cell(row["limits"], class_name="token-limits", white_space="nowrap"),
        rx.table.cell(row["created"]),
        rx.table.cell(row["expires"], class_name="token-expires"),
        rx.table.cell(
            rx.hstack(
                rx.button(rx.icon("copy", size=14), tr("common.copy"), size="1", variant="soft", class_name="token-copy",
                          on_click=state.copy_key(row["id"])),
                _chat_menu(state, row),
                rx.button(rx.cond(row["status"] == "1", tr("common.disable"), tr("common.enable")), size="1", variant="soft",
                          color_scheme=rx.cond(row["status"] == "1", "orange", "green"), class_name="token-toggle",
                          on_click=state.toggle_status(row["id"], row["status"])),
                rx.button(tr("common.edit"), size="1", variant="soft", class_name="token-edit",
                          on_click=state.open_edit(row["id"])),
                rx.button(tr("common.delete"), size="1", variant="soft", color_scheme="red", class_name="token-delete",
                          on_click=state.ask_delete(row["id"], row["name"])),
                spacing="2",
            ),
        ),
        class_name="token-row",
        data_token=row["name"],
    )


def _limit_input(state, field: str, label: str) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label), size="1", color="gray"),
        rx.input(value=state.limits[field], on_change=lambda v: state.set_limit(field, v), id=f"token-{field}",
                 input_mode="numeric", placeholder=tr("tokens.group_default"), width="100%"),
        spacing="1",
        width="100%",
    )


def _limit_fields(state, limit_fields) -> rx.Component:
    """The key's three rate limits side by side (stacked on a phone), what blank and -1 mean, the group's
    default. Ids: ``token-<field>`` (token-rpm_limit, token-tpm_limit, token-concurrency_limit)."""
    return rx.vstack(
        rx.text(tr("tokens.limits"), size="2", weight="medium"),
        rx.grid(
            *[_limit_input(state, field, label) for field, label, *_rest in limit_fields],
            columns=rx.breakpoints(initial="1", sm="3"), spacing="2", width="100%",
        ),
        rx.text(tr("tokens.limits_help"), size="1", color="gray"),
        rx.text(tr("tokens.limits_group", limits=state.group_limits), size="1", color="gray", id="token-group-limits"),
        spacing="1",
        width="100%",
        id="token-limits",
    )


def editor_dialog(state, expiry_presets: dict[str, str], limit_fields) -> rx.Component:
    """``expiry_presets``: the select's value -> the message id of its label; ``limit_fields``: the page's
    (field, label id, ...) of the rate limits."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(state.editing_id == 0, tr("tokens.add"), tr("tokens.edit"))),
            rx.vstack(
                labeled(tr("tokens.name"), rx.input(value=state.name, on_change=state.set_name, id="token-name",
                                                    placeholder=tr("tokens.name_example"), max_length=30, width="100%")),
                labeled(tr("tokens.remaining_label"), rx.hstack(
                    rx.input(value=state.quota, on_change=state.set_quota, id="token-quota",
                             disabled=state.unlimited, input_mode="numeric", width="60%"),
                    rx.el.label(rx.hstack(rx.switch(checked=state.unlimited, on_change=state.set_unlimited,
                                                    id="token-unlimited"), rx.text(tr("tokens.unlimited_label"), size="2"),
                                          align="center", spacing="2")),
                    align="center", width="100%",
                )),
                labeled(tr("tokens.expires"), rx.hstack(
                    rx.select.root(
                        rx.select.trigger(id="token-expiry"),
                        rx.select.content(*[rx.select.item(tr(label), value=value, id=f"token-expiry-{value}")
                                            for value, label in expiry_presets.items()]),
                        value=state.expiry, on_change=state.set_expiry,
                    ),
                    rx.cond(state.expiry == "custom",
                            rx.input(type="datetime-local", value=state.expiry_custom,
                                     on_change=state.set_expiry_custom, id="token-expiry-custom")),
                    align="center", width="100%",
                )),
                labeled(tr("tokens.models"),
                        rx.input(value=state.models, on_change=state.set_models, id="token-models",
                                 placeholder="gpt-4o-mini,gpt-4o", width="100%")),
                labeled(tr("tokens.subnet"),
                        rx.input(value=state.subnet, on_change=state.set_subnet, id="token-subnet",
                                 placeholder="192.168.1.0/24", width="100%")),
                _limit_fields(state, limit_fields),
                error_callout(state.editor_error, "token-editor-error"),
                rx.hstack(
                    rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray", id="token-cancel")),
                    rx.button(tr("common.save"), on_click=state.submit, id="token-submit"),
                    justify="end", width="100%",
                ),
                spacing="3",
            ),
            max_width="min(520px, calc(100vw - 24px))",
            id="token-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )


def confirm_delete_dialog(state) -> rx.Component:
    return confirm_dialog(tr("tokens.delete_title"), rx.text(tr("tokens.delete_text", name=state.deleting_name)),
                          state.deleting_id != 0, state.cancel_delete, state.confirm_delete,
                          "token-delete-cancel", "token-delete-confirm", id="token-delete-dialog")
