"""Pieces of the sign-in pages (Log in, Register, Reset, the OAuth callback): the centred card they sit in, a
success callout, the Turnstile box and a row of small links."""

from __future__ import annotations

import reflex as rx


def auth_card(*children: rx.Component, element_id: str, width: str = "380px") -> rx.Component:
    """A centred card, as the login form."""
    return rx.center(
        rx.card(rx.vstack(*children, spacing="3", width="100%"), width=width, max_width="100%", id=element_id),
        padding_top="8vh",
    )


def success_callout(message, element_id: str) -> rx.Component:
    """A green callout shown while ``message`` is not empty."""
    return rx.cond(message != "", rx.callout(message, color_scheme="green", icon="circle_check", id=element_id,
                                             width="100%"))


def turnstile_box(enabled) -> rx.Component:
    """Where Cloudflare's widget renders when TurnstileCheckEnabled (public_checks.render_turnstile_js)."""
    return rx.cond(enabled, rx.box(id="turnstile-box", min_height="65px", width="100%"))


def link_row(*links: tuple) -> rx.Component:
    """Small links under a form: (text, href, id) each (the text a ``tr(...)``)."""
    return rx.hstack(
        *[rx.link(text, href=href, id=element_id, size="2") for text, href, element_id in links],
        justify="between",
        width="100%",
        wrap="wrap",
    )


def default_password_banner() -> rx.Component:
    """Above every page while the user logged in with root's default password and has not changed it."""
    from ..state import SessionState
    from ..texts import tr

    return rx.cond(
        SessionState.default_password,
        rx.callout(
            rx.hstack(
                rx.text(tr("shell.default_password")),
                rx.link(tr("shell.change_password"), href="/account", id="default-password-link", weight="bold"),
                wrap="wrap",
                spacing="2",
            ),
            color_scheme="amber",
            icon="shield_alert",
            id="default-password-warning",
            width="100%",
            margin_bottom="16px",
        ),
    )
