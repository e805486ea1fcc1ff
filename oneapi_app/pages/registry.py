"""The @page decorator: one registry of dashboard pages, their navigation entries and role guards.

``title`` and ``nav`` are message ids of the translation table (oneapi_app/i18n, e.g. ``"page.tokens"``): the
navigation shows them in the browser's language, the HTML title in English (``title_params`` fill their
``{fields}``). A text that is not an id is shown as it is (tests/test_dashboard_i18n.py refuses that)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx

from ..models import Role


@dataclass(frozen=True)
class PageSpec:
    route: str
    title: str
    render: Callable[[], rx.Component]
    nav_label: str | None
    icon: str
    min_role: int  # 0: public; 1: logged-in users; 10: admins; 100: root
    on_load: tuple
    title_params: tuple[tuple[str, str], ...] = ()


PAGES: list[PageSpec] = []


def page(route: str, title: str, *, nav: str | None = None, icon: str = "circle", min_role: int = Role.GUEST,
         on_load: tuple = (), title_params: dict[str, str] | None = None) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    """Register a dashboard page. ``min_role`` > 0 sends visitors and users without that role to /login, which
    says why (SessionState.require_role)."""

    def register(render: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        PAGES.append(PageSpec(route, title, render, nav, icon, int(min_role), tuple(on_load),
                              tuple((title_params or {}).items())))
        return render

    return register


def nav_entries() -> list[PageSpec]:
    return [spec for spec in PAGES if spec.nav_label]
