"""The dashboard's texts in the browser's chosen language: ``tr(id, **params)`` for components, ``say(state, id)``
for event handlers. The texts live in the one table of oneapi_app/i18n (ui_*.py modules); see its docstring.

The language is ``SessionState.lang``, kept in the browser's localStorage (``oneapi_lang``) and set by the switch
in the header; until the user picks one it follows ``navigator.language`` (zh* -> Chinese, else English). Both
languages of every text are compiled into the page, so switching is instant and needs no round trip::

    from .texts import say, tr

    rx.button(tr("common.save"), on_click=MyState.save)          # a component's text
    rx.text(tr("logs.total", n=LogsState.total))                  # with a state var filled in
    rx.input(placeholder=tr("tokens.search"))                      # props too
    self.error = await say(self, "login.missing")                  # in a handler: the user's language
"""

from __future__ import annotations

import reflex as rx

from ..i18n import MESSAGES, t
from .state import SessionState

# navigator.language decides until the user picks a language (the Var is JavaScript, evaluated in the browser).
_BROWSER = rx.Var(
    "((typeof navigator !== 'undefined' && String(navigator.language || '').toLowerCase().startsWith('zh'))"
    " ? 'zh' : 'en')"
).to(str)
LANG = rx.cond(SessionState.lang != "", SessionState.lang, _BROWSER)
IS_ZH = LANG == "zh"


def tr(msg_id: str, **params: object) -> rx.Var:
    """The text of ``msg_id`` in the browser's language; ``params`` fill its ``{fields}`` (state vars or values)."""
    variants = MESSAGES[msg_id]
    en, zh = variants["en"].format(**params), variants["zh"].format(**params)
    if en == zh:
        return rx.Var.create(en)
    return rx.cond(IS_ZH, zh, en)


def tr_pick(value: rx.Var, cases: dict[str, str], fallback: str) -> rx.Var:
    """The text of the id ``cases[value]`` (a state var's value picks a label), else ``fallback``'s text."""
    return rx.match(value, *[(key, tr(msg_id)) for key, msg_id in cases.items()], tr(fallback))


async def lang_of(state: rx.State) -> str:
    """The language the user of ``state`` chose (or their browser's), for texts made by the backend."""
    session = state if isinstance(state, SessionState) else await state.get_state(SessionState)
    return session._lang()


async def say(state: rx.State, msg_id: str, **params: object) -> str:
    """The text of ``msg_id`` in the language of ``state``'s user (for toasts and error fields)."""
    return t(msg_id, await lang_of(state), **params)
