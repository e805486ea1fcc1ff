"""Login by username (or email) and password; the links to Register and Forgot password, and a button per
enabled OAuth provider (a document navigation to /api/oauth/<provider>/authorize, which stores the state and
redirects to the provider; the provider comes back to the callback pages of pages/oauth.py)."""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from .registry import page
from .state import LoginState, SessionState
from .texts import tr


class LoginPageState(SessionState):
    """Which ways in the administrator enabled (Settings: login and registration methods), and why a page's
    role guard sent the browser here (that page is where the login then returns)."""

    register_open: bool = True
    github: bool = False
    oidc: bool = False
    lark: bool = False
    guard_message: str = ""

    @rx.event
    def load(self):
        self.guard_message, self._login_next = self._guard_message, self._guard_next or "/"
        self._guard_message = self._guard_next = ""
        options = runtime().options
        self.register_open = bool(options.RegisterEnabled)
        self.github = bool(options.GitHubOAuthEnabled)
        self.oidc = bool(options.OidcEnabled)
        self.lark = bool(options.LarkClientId)


def _provider_button(name: str) -> rx.Component:
    return rx.link(rx.button(rx.icon("log-in", size=16), tr(f"login.{name}"),
                             variant="outline", width="100%", type="button"),
                   href=f"/api/oauth/{name}/authorize", reload_document=True, id=f"login-{name}", width="100%")


def _providers() -> rx.Component:
    any_provider = LoginPageState.github | LoginPageState.oidc | LoginPageState.lark
    return rx.cond(
        any_provider,
        rx.vstack(
            rx.hstack(rx.separator(size="4"), rx.text(tr("common.or"), size="1", color="gray"), rx.separator(size="4"),
                      align="center", width="100%"),
            rx.cond(LoginPageState.github, _provider_button("github")),
            rx.cond(LoginPageState.oidc, _provider_button("oidc")),
            rx.cond(LoginPageState.lark, _provider_button("lark")),
            spacing="2",
            width="100%",
        ),
    )


@page("/login", "page.login", on_load=(LoginPageState.load,))
def login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.form(
                    rx.vstack(
                        rx.heading(tr("login.title"), size="5"),
                        rx.cond(LoginPageState.guard_message != "",
                                rx.callout(LoginPageState.guard_message, icon="info", id="login-guard",
                                           width="100%")),
                        rx.input(name="username", placeholder=tr("login.username"), id="username", width="100%",
                                 auto_complete="username"),
                        rx.input(name="password", placeholder=tr("login.password"), type="password", id="password",
                                 width="100%", auto_complete="current-password"),
                        rx.cond(LoginState.error != "", rx.callout(LoginState.error, color_scheme="red",
                                                                   icon="triangle_alert", id="login-error",
                                                                   width="100%")),
                        rx.button(tr("login.submit"), type="submit", loading=LoginState.busy, width="100%",
                                  id="login-submit"),
                        spacing="3",
                    ),
                    on_submit=LoginState.submit,
                    reset_on_submit=False,
                ),
                rx.hstack(
                    rx.cond(LoginPageState.register_open,
                            rx.link(tr("login.register"), href="/register", size="2", id="login-register")),
                    rx.spacer(),
                    rx.link(tr("login.forgot"), href="/reset", size="2", id="login-forgot"),
                    width="100%",
                ),
                _providers(),
                spacing="3",
            ),
            width="360px",
            max_width="100%",
        ),
        padding_top="10vh",
    )
