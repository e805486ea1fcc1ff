"""The dashboard shell: a header, a side navigation built from the page registry, and the content; ``add_pages``
mounts every registered page inside it."""

from __future__ import annotations

import reflex as rx

from ...models import Role
from ..registry import PAGES, nav_entries
from ..state import SessionState
from .auth_forms import default_password_banner


def _nav_link(label: str, route: str, icon: str, min_role: int) -> rx.Component:
    link = rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2"), align="center", spacing="2"),
        href=route,
        underline="none",
        class_name="nav-link",
        padding="6px 10px",
        border_radius="6px",
        width="100%",
    )
    if min_role <= 0:
        return link
    return rx.cond(SessionState.role >= min_role, link)


def sidebar() -> rx.Component:
    return rx.vstack(
        *[_nav_link(spec.nav_label or spec.title, spec.route, spec.icon, spec.min_role) for spec in nav_entries()],
        spacing="1",
        width="200px",
        padding="12px",
        border_right="1px solid var(--gray-a5)",
        min_height="calc(100vh - 56px)",
        id="sidebar",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.link(rx.heading(SessionState.system_name, size="4"), href="/", underline="none"),
        rx.spacer(),
        rx.cond(
            SessionState.logged_in,
            rx.hstack(
                rx.text(SessionState.display_name, size="2", id="current-user"),
                rx.button("Log out", variant="soft", size="1", on_click=SessionState.logout, id="logout"),
                align="center",
            ),
            rx.link(rx.button("Log in", size="1"), href="/login", id="login-link"),
        ),
        align="center",
        padding="12px 20px",
        height="56px",
        border_bottom="1px solid var(--gray-a5)",
        width="100%",
    )


def shell(content: rx.Component) -> rx.Component:
    return rx.box(
        header(),
        rx.hstack(sidebar(), rx.box(content, padding="24px", flex="1", min_width="0"), align="start", spacing="0"),
        width="100%",
    )


def add_pages(app: rx.App) -> None:
    """Every registered page, inside the shell, behind its role guard."""
    for spec in PAGES:
        # Calling a handler on the State class makes an event spec (Reflex's types say otherwise).
        guard = ([SessionState.require_role(spec.min_role)]  # type: ignore[operator]
                 if spec.min_role > Role.GUEST else [])
        app.add_page(
            # the default binds this page's spec; the default-password warning sits above every page
            lambda spec=spec: shell(rx.fragment(default_password_banner(), spec.render())),  # type: ignore[misc]
            route=spec.route,
            title=f"{spec.title} - One API",
            on_load=[SessionState.refresh, *guard, *spec.on_load],
        )
