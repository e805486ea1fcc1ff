"""The Channels page's editor dialog (add / edit a channel, with the fields its type declares in the channel-type
registry and a raw config JSON editor), the model picker of a channel's test and the Test-all progress panel.

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .widgets import editor_buttons, error_callout, labeled, text_field

SELECT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
                "background": "var(--color-surface)", "color": "var(--gray-12)", "width": "100%"}


def _type_field(state, f) -> rx.Component:
    """One field the channel type declares: bound to ``state.cfg``, or a secret sent with the form only."""
    element_id = "channel-cfg-" + f["key"]
    control = rx.cond(
        f["secret"] != "",
        rx.cond(f["multiline"] != "",
                rx.text_area(name="cfg_" + f["key"], id=element_id, placeholder=f["placeholder"], rows="3",
                             width="100%", auto_complete=False, spell_check=False),
                rx.input(name="cfg_" + f["key"], id=element_id, placeholder=f["placeholder"], type="password",
                         width="100%", auto_complete="new-password")),
        rx.input(value=state.cfg[f["key"]].to(str), on_change=lambda v: state.set_cfg(f["key"], v), id=element_id,
                 placeholder=f["placeholder"], width="100%"),
    )
    hint = rx.cond((f["secret"] != "") & (state.edit_id != 0), tr("channels.secret_keep"), "")
    return rx.vstack(rx.text(f["label"], size="2", weight="medium"), control, rx.text(hint, size="1", color="gray"),
                     spacing="1", width="100%", class_name="channel-type-field")


def editor_dialog(state) -> rx.Component:
    editing = state.edit_id != 0
    fields = rx.vstack(
        rx.grid(
            labeled(tr("channels.type"), rx.el.select(
                rx.foreach(state.types, lambda t: rx.el.option(
                    t["name"] + rx.cond(t["retired"] != "", tr("channels.retired_suffix"), ""), value=t["id"])),
                value=state.f_type, on_change=lambda v: state.set_field("f_type", v), id="channel-type",
                style=SELECT_STYLE), rx.cond(state.retired_note != "", rx.text(state.retired_note, color="red",
                                                                                id="channel-retired"))),
            labeled(tr("channels.name"), text_field(state, "f_name", "channel-name", tr("channels.name_hint"))),
            labeled(tr("channels.base_url"), text_field(state, "f_base_url", "channel-base-url", state.base_url_hint),
                    tr("channels.base_url_hint")),
            labeled(tr("channels.groups"), text_field(state, "f_group", "channel-group", "default"),
                    tr("channels.groups_hint")),
            labeled(tr("channels.priority"), text_field(state, "f_priority", "channel-priority", "0", type="number")),
            labeled(tr("channels.weight"), text_field(state, "f_weight", "channel-weight", "0", type="number")),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        labeled(
            tr("channels.models"),
            rx.text_area(value=state.f_models, on_change=lambda v: state.set_field("f_models", v),
                         id="channel-models", width="100%", rows="3", placeholder="gpt-4o-mini,gpt-4o"),
            rx.hstack(
                rx.button(tr("channels.fill_default"), type="button", size="1", variant="soft",
                          on_click=state.fill_models("default"), id="channel-fill-models"),
                rx.button(tr("channels.fill_all"), type="button", size="1", variant="soft",
                          on_click=state.fill_models("all"), id="channel-fill-all"),
                rx.button(tr("channels.clear"), type="button", size="1", variant="soft", color_scheme="gray",
                          on_click=state.clear_models, id="channel-clear-models"),
                rx.input(value=state.f_custom_model, on_change=lambda v: state.set_field("f_custom_model", v),
                         placeholder=tr("channels.custom_model"), size="1", width="140px", id="channel-custom-model"),
                rx.button(tr("channels.add_model"), type="button", size="1", variant="soft", on_click=state.add_custom_model,
                          id="channel-add-model"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
        ),
        labeled(tr("channels.mapping"),
                rx.text_area(value=state.f_mapping, on_change=lambda v: state.set_field("f_mapping", v),
                             id="channel-mapping", width="100%", rows="2",
                             placeholder='{"gpt-3.5-turbo": "gpt-35-turbo"}'),
                tr("channels.mapping_hint")),
        labeled(tr("channels.config"),
                rx.text_area(value=state.f_config, on_change=state.set_config_raw, id="channel-config", width="100%",
                             rows="3", placeholder='{"region": "us-east-1"}', font_family="monospace"),
                rx.cond(state.config_error != "", rx.text(state.config_error, color="red", id="channel-config-error"),
                        tr("channels.config_hint"))),
        labeled(tr("channels.system_prompt"),
                rx.text_area(value=state.f_system_prompt,
                             on_change=lambda v: state.set_field("f_system_prompt", v),
                             id="channel-system-prompt", width="100%", rows="2",
                             placeholder=tr("channels.system_prompt_hint"))),
        spacing="3",
        width="100%",
    )
    form = rx.form(
        rx.vstack(
            labeled(
                tr("channels.key"),
                rx.text_area(name="key", id="channel-key", width="100%", rows="3", auto_complete=False,
                             spell_check=False,
                             placeholder=rx.cond(editing, tr("channels.key_keep"), state.key_hint)),
                rx.cond(editing, tr("channels.key_edit_hint"), tr("channels.key_format", hint=state.key_hint)),
            ),
            rx.cond(state.type_fields.length() > 0, rx.grid(  # type: ignore[attr-defined]  # a Reflex Var
                rx.foreach(state.type_fields, lambda f: _type_field(state, f)),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%", id="channel-type-fields")),
            error_callout(state.error, "channel-error"),
            editor_buttons("channel", editing, type="submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=state.save,
        reset_on_submit=False,
        id="channel-form",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, tr("channels.edit_title", id=state.edit_id), tr("channels.add_title"))),
            rx.vstack(fields, form, spacing="3", width="100%"),
            max_width="720px",
            id="channel-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )


def test_dialog(state) -> rx.Component:
    """Test one channel with a model picked among its models."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("channels.test_title", id=state.test_id)),
            rx.vstack(
                rx.text(tr("channels.models"), size="2", weight="medium"),
                rx.el.select(rx.foreach(state.test_models, lambda m: rx.el.option(m, value=m)),
                             value=state.test_model, on_change=state.set_test_model, id="channel-test-model",
                             style=SELECT_STYLE),
                rx.hstack(
                    rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray", type="button")),
                    rx.button(tr("channels.test"), on_click=state.run_test, id="channel-test-run"),
                    justify="end", width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="420px",
            id="channel-test-dialog",
        ),
        open=state.test_id != 0,
        on_open_change=state.close_test,
    )


def test_all_panel(state) -> rx.Component:
    """The live progress of "Test all" and each channel's result."""
    results = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(f"channels.{h}"))
                                               for h in ("id", "name", "result", "time", "message")])),
        rx.table.body(rx.foreach(state.ta_results, lambda r: rx.table.row(
            rx.table.cell(r["id"]), rx.table.cell(r["name"]),
            rx.table.cell(rx.cond(r["ok"] != "", rx.badge(tr("channels.ok"), color_scheme="green"),
                                  rx.badge(tr("channels.failed"), color_scheme="red"))),
            rx.table.cell(r["time"]), rx.table.cell(rx.text(r["message"], size="1")),
            class_name="channel-test-all-row"))),
        size="1", width="100%", variant="surface",
    )
    return rx.cond(state.ta_visible, rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(state.ta_summary, size="2", id="channel-test-all-summary"),
                rx.spacer(),
                rx.cond(~state.ta_running, rx.button(tr("channels.close"), size="1", variant="ghost", on_click=state.hide_test_all,
                                                     id="channel-test-all-close")),
                width="100%", align="center",
            ),
            rx.progress(value=state.ta_percent, max=100, width="100%", id="channel-test-all-progress"),
            rx.box(results, width="100%", overflow_x="auto", max_height="320px", overflow_y="auto"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="channel-test-all-panel",
    ))
