"""Small UI pieces the dashboard pages share: a labelled form field, a text input bound to a state field, an
error callout, a status badge, the search toolbar, the Previous/Next pager, the confirm dialog and the
Cancel/Save row of an editor. Each takes the ids, labels and handlers of its page (no state of its own); labels
are translated texts (``tr(...)``), the widgets' own words come from the table too."""

from __future__ import annotations

import reflex as rx

from ..texts import tr


def labeled(label, control: rx.Component, hint: rx.Component | rx.Var | str | None = None) -> rx.Component:
    """A form field row: the label above the control, an optional grey hint below."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        *([rx.text(hint, size="1", color="gray")] if hint is not None else []),
        spacing="1",
        width="100%",
    )


def text_field(state, field: str, element_id: str, placeholder="", **props) -> rx.Component:
    """An input bound to ``state.<field>`` through the page's ``set_field(field, value)`` event."""
    return rx.input(value=getattr(state, field), on_change=lambda v: state.set_field(field, v), id=element_id,
                    placeholder=placeholder, width="100%", **props)


def error_callout(message, element_id: str) -> rx.Component:
    """A red callout shown while ``message`` is not empty."""
    return rx.cond(message != "", rx.callout(message, color_scheme="red", icon="triangle_alert", id=element_id,
                                             width="100%"))


def match_badge(value, cases, fallback_label, fallback_color: str = "orange", class_name: str | None = None):
    """A badge coloured by ``value``: ``cases`` are (value, label, colour) triples; anything else falls back."""
    extra = {"class_name": class_name} if class_name else {}
    return rx.match(
        value,
        *[(key, rx.badge(label, color_scheme=color, **extra)) for key, label, color in cases],
        rx.badge(fallback_label, color_scheme=fallback_color, **extra),
    )


def search_toolbar(value, on_change, element_id: str, placeholder, width: str, *buttons) -> rx.Component:
    """A list page's toolbar: the search box (searching as one types), then the page's buttons."""
    return rx.hstack(
        rx.input(placeholder=placeholder, value=value, on_change=on_change, id=element_id, width=width),
        *buttons,
        spacing="2",
        wrap="wrap",
    )


def pager(state, prefix: str, **text_props) -> rx.Component:
    """Previous / Page n / Next over ``state.page_no``, ``state.has_next`` and ``state.go_page(delta)``."""
    return rx.hstack(
        rx.button(tr("common.previous"), size="1", variant="soft", disabled=state.page_no == 0,
                  on_click=state.go_page(-1), id=f"{prefix}-prev"),
        rx.text(tr("common.page_n", n=state.page_no + 1), size="2", **text_props),
        rx.button(tr("common.next"), size="1", variant="soft", disabled=~state.has_next,
                  on_click=state.go_page(1), id=f"{prefix}-next"),
        align="center",
    )


def confirm_dialog(title, description, open_, on_cancel, on_confirm, cancel_id: str, confirm_id: str,
                   **content_props) -> rx.Component:
    """A destructive action's confirmation: Cancel, and a red Delete that runs ``on_confirm``."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray",
                                                 on_click=on_cancel, id=cancel_id)),
                rx.alert_dialog.action(rx.button(tr("common.delete"), color_scheme="red", on_click=on_confirm, id=confirm_id)),
                justify="end",
                spacing="2",
                margin_top="16px",
            ),
            **{"max_width": "min(450px, calc(100vw - 24px))", **content_props},
        ),
        open=open_,
    )


def editor_buttons(prefix: str, editing, **submit_props) -> rx.Component:
    """An editor dialog's Cancel (closes it) and Save / Create (``submit_props``: type="submit" or on_click)."""
    return rx.hstack(
        rx.dialog.close(rx.button(tr("common.cancel"), type="button", variant="soft", color_scheme="gray",
                                  id=f"{prefix}-cancel")),
        rx.button(rx.cond(editing, tr("common.save"), tr("common.create")), id=f"{prefix}-submit", **submit_props),
        justify="end",
        width="100%",
    )
