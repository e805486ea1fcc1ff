"""The dashboard shell: a header (the Logo option, the system name, the language switch, the user), a side
navigation built from the page registry -- a menu behind the header's button on phones (below 768 px) --, the
content and the Footer option; ``add_pages`` mounts every registered page inside it."""

from __future__ import annotations

import reflex as rx

from ...i18n import MESSAGES
from ...models import Role
from ..registry import PAGES, PageSpec, nav_entries
from ..state import SessionState
from ..texts import IS_ZH, tr
from .auth_forms import default_password_banner

# phones: below 768 px (Radix's "sm" breakpoint)
WIDE_ONLY = {"@media screen and (max-width: 767.98px)": {"display": "none !important"}}
PHONE_ONLY = {"@media screen and (min-width: 768px)": {"display": "none !important"}}


def label(text: str) -> rx.Var | str:
    """A registry label: a message id in the browser's language, or the text as it is."""
    return tr(text) if text in MESSAGES else text


def _guarded(min_role: int, component: rx.Component) -> rx.Component:
    return component if min_role <= 0 else rx.cond(SessionState.role >= min_role, component)


def _nav_link(spec: PageSpec) -> rx.Component:
    link = rx.link(
        rx.hstack(rx.icon(spec.icon, size=16), rx.text(label(spec.nav_label or spec.title), size="2"),
                  align="center", spacing="2"),
        href=spec.route,
        underline="none",
        class_name="nav-link",
        padding="6px 10px",
        border_radius="6px",
        width="100%",
    )
    return _guarded(spec.min_role, link)


def sidebar() -> rx.Component:
    return rx.vstack(
        *[_nav_link(spec) for spec in nav_entries()],
        spacing="1",
        width="200px",
        min_width="200px",
        padding="12px",
        border_right="1px solid var(--gray-a5)",
        min_height="calc(100vh - 56px)",
        style=WIDE_ONLY,
        id="sidebar",
    )


def phone_menu() -> rx.Component:
    """The navigation on a phone: a button in the header opening the same entries as a menu."""
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("menu", size=18), variant="ghost", size="2", id="nav-menu-button",
                                           aria_label=tr("shell.menu"))),
            rx.menu.content(
                *[_guarded(spec.min_role, rx.menu.item(
                    rx.hstack(rx.icon(spec.icon, size=16), rx.text(label(spec.nav_label or spec.title)),
                              align="center", spacing="2"),
                    on_select=rx.redirect(spec.route), class_name="nav-menu-item"))
                  for spec in nav_entries()],
                id="nav-menu",
            ),
        ),
        style=PHONE_ONLY,
    )


def language_switch() -> rx.Component:
    """Switch between Chinese and English (remembered by this browser); shows the other language's name."""
    return rx.button(rx.icon("languages", size=14), tr("shell.switch_to"), variant="ghost", size="1",
                     on_click=SessionState.set_lang(rx.cond(IS_ZH, "en", "zh")),  # type: ignore[operator]
                     id="lang-switch",
                     title=tr("shell.language"))


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.cond(SessionState.logo != "", rx.image(src=SessionState.logo, height="28px", width="auto",
                                                      max_width="96px", alt="", id="logo")),
            rx.heading(SessionState.system_name, size="4", id="system-name", white_space="nowrap",
                       overflow="hidden", text_overflow="ellipsis"),
            align="center",
            spacing="2",
            min_width="0",
        ),
        href="/",
        underline="none",
        min_width="0",
    )


def header() -> rx.Component:
    return rx.hstack(
        phone_menu(),
        brand(),
        rx.spacer(),
        language_switch(),
        rx.cond(
            SessionState.logged_in,
            rx.hstack(
                rx.text(SessionState.display_name, size="2", id="current-user", max_width="120px", overflow="hidden",
                        text_overflow="ellipsis", white_space="nowrap"),
                rx.button(tr("shell.log_out"), variant="soft", size="1", on_click=SessionState.logout, id="logout"),
                align="center",
                spacing="2",
            ),
            rx.link(rx.button(tr("shell.log_in"), size="1"), href="/login", id="login-link"),
        ),
        align="center",
        spacing="3",
        padding=rx.breakpoints(initial="8px 12px", sm="12px 20px"),
        height="56px",
        border_bottom="1px solid var(--gray-a5)",
        width="100%",
    )


def footer() -> rx.Component:
    """The Footer option, as safe Markdown (no raw HTML: one-api's HTML links became Markdown links)."""
    return rx.cond(
        SessionState.footer != "",
        rx.box(rx.markdown(SessionState.footer, use_raw=False), id="footer", padding="12px 0 0",
               margin_top="24px", border_top="1px solid var(--gray-a5)", font_size="13px", color="var(--gray-11)"),
    )


def shell(content: rx.Component) -> rx.Component:
    return rx.box(
        header(),
        rx.hstack(
            sidebar(),
            rx.box(content, footer(), padding=rx.breakpoints(initial="12px", sm="24px"), flex="1", min_width="0",
                   width="100%"),
            align="start",
            spacing="0",
            width="100%",
        ),
        width="100%",
    )


def add_pages(app: rx.App) -> None:
    """Every registered page, inside the shell, behind its role guard."""
    for spec in PAGES:
        # Calling a handler on the State class makes an event spec (Reflex's types say otherwise).
        guard = ([SessionState.require_role(spec.min_role)]  # type: ignore[operator]
                 if spec.min_role > Role.GUEST else [])
        # the browser tab's title follows the language too (a Var: React puts the <title> in the head)
        title = (rx.Var.create(f"{tr(spec.title, **dict(spec.title_params))} - One API") if spec.title in MESSAGES
                 else f"{spec.title} - One API")
        app.add_page(
            # the default binds this page's spec; the default-password warning sits above every page
            lambda spec=spec: shell(rx.fragment(default_password_banner(), spec.render())),  # type: ignore[misc]
            route=spec.route,
            title=title,
            on_load=[SessionState.refresh, *guard, *spec.on_load],
        )
