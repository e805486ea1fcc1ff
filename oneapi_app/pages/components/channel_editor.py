"""The Channels page's editor dialog (add / edit a channel).

They take the page's State class so this module does not import the page (no import cycle)."""

from __future__ import annotations

import reflex as rx

from .widgets import editor_buttons, error_callout, labeled, text_field

SELECT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
                "background": "var(--color-surface)", "color": "var(--gray-12)", "width": "100%"}


def editor_dialog(state) -> rx.Component:
    editing = state.edit_id != 0
    fields = rx.vstack(
        rx.grid(
            labeled("Type", rx.el.select(
                rx.foreach(state.types, lambda t: rx.el.option(t["name"], value=t["id"])),
                value=state.f_type, on_change=lambda v: state.set_field("f_type", v), id="channel-type",
                style=SELECT_STYLE)),
            labeled("Name", text_field(state, "f_name", "channel-name", "A name to recognise it")),
            labeled("Base URL", text_field(state, "f_base_url", "channel-base-url", state.base_url_hint),
                    "Empty: the type's default base URL."),
            labeled("Groups", text_field(state, "f_group", "channel-group", "default"), "Comma list of user groups."),
            labeled("Priority", text_field(state, "f_priority", "channel-priority", "0", type="number")),
            labeled("Weight", text_field(state, "f_weight", "channel-weight", "0", type="number")),
            columns="2",
            spacing="3",
            width="100%",
        ),
        labeled(
            "Models",
            rx.text_area(value=state.f_models, on_change=lambda v: state.set_field("f_models", v),
                         id="channel-models", width="100%", rows="3", placeholder="gpt-4o-mini,gpt-4o"),
            rx.hstack(
                rx.button("Fill default models", type="button", size="1", variant="soft",
                          on_click=state.fill_models("default"), id="channel-fill-models"),
                rx.button("Fill all models", type="button", size="1", variant="soft",
                          on_click=state.fill_models("all"), id="channel-fill-all"),
                rx.button("Clear", type="button", size="1", variant="soft", color_scheme="gray",
                          on_click=state.clear_models, id="channel-clear-models"),
                spacing="2",
            ),
        ),
        labeled("Model mapping (JSON)",
                rx.text_area(value=state.f_mapping, on_change=lambda v: state.set_field("f_mapping", v),
                             id="channel-mapping", width="100%", rows="2",
                             placeholder='{"gpt-3.5-turbo": "gpt-35-turbo"}'),
                "Optional: asked model -> upstream model."),
        labeled("System prompt",
                rx.text_area(value=state.f_system_prompt,
                             on_change=lambda v: state.set_field("f_system_prompt", v),
                             id="channel-system-prompt", width="100%", rows="2",
                             placeholder="Optional: forced on every request of this channel")),
        spacing="3",
        width="100%",
    )
    form = rx.form(
        rx.vstack(
            labeled(
                "Key",
                rx.text_area(name="key", id="channel-key", width="100%", rows="3", auto_complete=False,
                             spell_check=False,
                             placeholder=rx.cond(editing, "Leave empty to keep the stored key",
                                                 "The upstream API key; one key per line creates one channel each")),
                rx.cond(editing, "The stored key is never shown; type a new one to replace it.",
                        "Batch mode: one key per line -> one channel each (same settings)."),
            ),
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
            rx.dialog.title(rx.cond(editing, "Edit channel #" + state.edit_id.to_string(), "Add channel")),
            rx.vstack(fields, form, spacing="3", width="100%"),
            max_width="720px",
            id="channel-editor",
        ),
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )
