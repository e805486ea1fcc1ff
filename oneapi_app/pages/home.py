"""Home: the Notice option (Markdown) above the admin's home page content, or a status card (version, start
time, login methods, the base URL)."""

from __future__ import annotations

import time

import reflex as rx

from ..appliance import runtime
from .common import public_address
from .registry import page
from .texts import tr


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
            rx.heading(tr("home.status"), size="4"),
            rx.text(tr("home.version"), " ", rx.code(HomeState.version, id="status-version")),
            rx.text(tr("home.started"), " ", HomeState.started),
            rx.text(tr("home.login_methods"), " ", rx.foreach(
                HomeState.login_methods,
                lambda m: rx.badge(rx.match(m, ("password", tr("home.password")), m), margin_right="4px"))),
            rx.text(tr("home.base_url"), " ", rx.code(HomeState.base_url, id="status-base-url", word_break="break-all")),
            spacing="2",
        ),
        max_width="560px",
        width="100%",
        id="status-card",
    )


@page("/", "page.home", nav="page.home", icon="house", on_load=(HomeState.load,))
def index() -> rx.Component:
    return rx.vstack(
        rx.cond(HomeState.notice != "",
                rx.card(rx.markdown(HomeState.notice), width="100%", id="home-notice", class_name="notice")),
        rx.cond(
            HomeState.content.startswith("https://"),
            rx.el.iframe(src=HomeState.content, width="100%", height="80vh", border="0"),
            rx.cond(HomeState.content != "", rx.markdown(HomeState.content), status_card()),
        ),
        spacing="4",
        width="100%",
    )
