"""Home: the admin's home page content, or a status card (version, start time, login methods)."""

from __future__ import annotations

import time

import reflex as rx

from ..appliance import runtime
from .common import public_address
from .registry import page


class HomeState(rx.State):
    version: str = ""
    started: str = ""
    content: str = ""
    notice: str = ""
    login_methods: list[str] = []
    base_url: str = ""

    @rx.event
    def load(self):
        rt = runtime()
        o = rt.options
        self.version = rt.version
        self.started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rt.started_at))
        self.content = o.HomePageContent
        self.notice = o.Notice
        self.base_url = public_address(o.ServerAddress, self.router.headers.origin) + "/v1"
        methods = ["password"] if o.PasswordLoginEnabled else []
        methods += [name for name, on in (("GitHub", o.GitHubOAuthEnabled), ("OIDC", o.OidcEnabled),
                                          ("WeChat", o.WeChatAuthEnabled)) if on]
        self.login_methods = methods


def status_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("System status", size="4"),
            rx.text("Version: ", rx.code(HomeState.version, id="status-version")),
            rx.text("Started: ", HomeState.started),
            rx.text("Login methods: ", rx.foreach(HomeState.login_methods, lambda m: rx.badge(m, margin_right="4px"))),
            rx.text("OpenAI-compatible base URL: ", rx.code(HomeState.base_url, id="status-base-url")),
            spacing="2",
        ),
        max_width="560px",
        id="status-card",
    )


@page("/", "Home", nav="Home", icon="house", on_load=(HomeState.load,))
def index() -> rx.Component:
    return rx.vstack(
        rx.cond(HomeState.notice != "", rx.callout(HomeState.notice, icon="info", width="100%")),
        rx.cond(
            HomeState.content.startswith("https://"),
            rx.el.iframe(src=HomeState.content, width="100%", height="80vh", border="0"),
            rx.cond(HomeState.content != "", rx.markdown(HomeState.content), status_card()),
        ),
        spacing="4",
        width="100%",
    )
