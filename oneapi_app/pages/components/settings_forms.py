"""The Settings page's pieces, built from the tables of ``settings_fields``: one tab per group, one card per
section, one control per field kind. Element ids: ``setting-<Key>`` for a field's control,
``setting-save-<section>`` for a section's Save button, ``setting-secret-<Key>-save`` / ``-status`` for a
secret's Replace button and its stored/not-set hint, ``settings-tab-<tab>`` for the tab triggers."""

from __future__ import annotations

import reflex as rx

from ..texts import tr
from .settings_fields import CHOICES, HINT_PARAMS, HINTS, LIMITS_EXAMPLE, TABS, TEXT, Field, Section
from .widgets import labeled


def _hint(field: Field) -> rx.Var | None:
    return tr(HINTS[field.key], **HINT_PARAMS.get(field.key, {})) if field.key in HINTS else None


def _t(key: str) -> rx.Var:
    return tr(TEXT[key])


def _toggle(state, field: Field) -> rx.Component:
    return rx.hstack(
        rx.switch(checked=state.toggles[field.key], on_change=lambda on: state.set_toggle(field.key, on),
                  id=f"setting-{field.key}"),
        rx.text(tr(field.label), size="2"),
        *([rx.text(_hint(field), size="1", color="gray")] if field.key in HINTS else []),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _secret(state, field: Field) -> rx.Component:
    """A write-only field: an uncontrolled password input sent once with its own form, then cleared."""
    key = field.key
    status = rx.cond(state.secret_stored[key], _t("secret_set"), _t("secret_unset"))
    return labeled(
        tr(field.label),
        rx.form(
            rx.hstack(
                rx.input(name="secret", type="password", auto_complete="new-password", id=f"setting-{key}",
                         placeholder=_t("secret_placeholder"), width="100%"),
                rx.button(_t("secret_save"), type="submit", variant="soft", id=f"setting-secret-{key}-save"),
                width="100%",
            ),
            on_submit=lambda form: state.save_secret(key, form),
            reset_on_submit=True,
            width="100%",
        ),
        rx.text(status, id=f"setting-secret-{key}-status"),
    )


def _control(state, field: Field) -> rx.Component:
    key = field.key
    common = {"value": state.values[key], "on_change": lambda v: state.set_value(key, v), "id": f"setting-{key}",
              "width": "100%"}
    if field.kind == "json":
        return rx.text_area(rows="10", spell_check=False, font_family="monospace", **common)
    if field.kind == "limits":
        return rx.text_area(rows="12", spell_check=False, font_family="monospace", placeholder=LIMITS_EXAMPLE, **common)
    if field.kind == "long":
        return rx.text_area(rows="5", **common)
    if field.kind == "choice":
        return rx.select(list(CHOICES[key]), **common)
    if field.kind == "number":
        return rx.input(input_mode="decimal", **common)
    return rx.input(**common)


def _field(state, field: Field) -> rx.Component:
    if field.kind == "toggle":
        return _toggle(state, field)
    if field.kind == "secret":
        return _secret(state, field)
    if field.kind == "long":  # Markdown: a preview, folded
        preview = rx.el.details(
            rx.el.summary(_t("preview"), font_size="var(--font-size-1)", cursor="pointer",
                          id=f"setting-preview-{field.key}-open"),
            rx.box(rx.markdown(state.values[field.key]), padding="8px", border="1px solid var(--gray-a5)",
                   border_radius="6px", id=f"setting-preview-{field.key}"),
            width="100%",
        )
        return rx.vstack(labeled(tr(field.label), _control(state, field), _hint(field)), preview, spacing="1",
                         width="100%")
    return labeled(tr(field.label), _control(state, field), _hint(field))


def _note(note: str) -> rx.Component:
    if note == "log_purge":
        return rx.text(_t(note), " ", rx.link(_t("open_logs"), href="/log"), size="2", color="gray")
    return rx.text(_t(note), size="2", color="gray")


def _test_mail(state) -> rx.Component:
    """SMTP's "send a test mail" row (to the root's address by default)."""
    return labeled(
        _t("test_mail_to"),
        rx.hstack(
            rx.input(value=state.test_mail_to, on_change=state.set_test_mail_to, id="setting-test-mail-to",
                     type="email", width="100%"),
            rx.button(_t("test_mail_send"), variant="soft", on_click=state.send_test_mail,
                      id="setting-test-mail-send"),
            width="100%",
        ),
        _t("test_mail_hint"),
    )


EXTRAS = {"smtp": _test_mail}  # a section's own controls after its Save button


def section_card(state, section: Section) -> rx.Component:
    button = ([rx.button(_t("save"), on_click=state.save_section(section.id), id=f"setting-save-{section.id}")]
              if section.saved_by_button() else [])
    if section.id in EXTRAS:
        button.append(rx.separator(size="4"))
        button.append(EXTRAS[section.id](state))
    return rx.card(
        rx.vstack(
            rx.heading(tr(section.title_id), size="3"),
            *([_note(section.note)] if section.note else []),
            *[_field(state, f) for f in section.fields],
            *button,
            spacing="3",
            width="100%",
        ),
        width="100%",
        max_width="860px",
        id=f"setting-section-{section.id}",
    )


def settings_tabs(state) -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(*[rx.tabs.trigger(tr(title), value=tab, id=f"settings-tab-{tab}") for tab, title, _s in TABS],
                     wrap="wrap"),
        *[rx.tabs.content(rx.vstack(*[section_card(state, s) for s in sections], spacing="4", padding_top="16px"),
                          value=tab) for tab, _title, sections in TABS],
        default_value=TABS[0][0],
        width="100%",
    )
