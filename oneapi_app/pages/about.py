"""About: the admin's About text (Markdown, or an https:// page in a frame)."""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from .registry import page
from .texts import tr


class AboutState(rx.State):
    about: str = ""

    @rx.event
    def load(self):
        self.about = runtime().options.About


@page("/about", "page.about", nav="page.about", icon="info", on_load=(AboutState.load,))
def about() -> rx.Component:
    return rx.cond(
        AboutState.about.startswith("https://"),
        rx.el.iframe(src=AboutState.about, width="100%", height="80vh", border="0"),
        rx.cond(
            AboutState.about != "",
            rx.markdown(AboutState.about),
            rx.vstack(
                rx.heading(tr("page.about"), size="5"),
                rx.text(tr("about.default")),
            ),
        ),
    )
