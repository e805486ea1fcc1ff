"""Login by username (or email) and password."""

from __future__ import annotations

import reflex as rx

from .registry import page
from .state import LoginState


@page("/login", "Log in")
def login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Log in", size="5"),
                    rx.input(name="username", placeholder="Username or email", id="username", width="100%",
                             auto_complete="username"),
                    rx.input(name="password", placeholder="Password", type="password", id="password",
                             width="100%", auto_complete="current-password"),
                    rx.cond(LoginState.error != "", rx.callout(LoginState.error, color_scheme="red", icon="triangle_alert",
                                                               id="login-error", width="100%")),
                    rx.button("Log in", type="submit", loading=LoginState.busy, width="100%", id="login-submit"),
                    spacing="3",
                ),
                on_submit=LoginState.submit,
                reset_on_submit=False,
            ),
            width="360px",
        ),
        padding_top="10vh",
    )
