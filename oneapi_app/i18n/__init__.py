"""Every text the gateway shows, in English and in Chinese: one table, message id -> {"en", "zh"}.

The table is merged from the modules of this package: ``messages.py`` (the server's messages: errors of /v1
and /api, mails) and every ``ui_*.py`` (the dashboard's texts, one module per area, each a dict ``UI``;
a new ``ui_<area>.py`` is picked up by itself). An id defined twice is an error at import.

Server side, the language is the ``LANGUAGE`` setting (``zh`` by default: one-api's messages are Chinese, and
scripts written against one-api match on them). The runtime applies it at start-up with ``set_language``; a
text is rendered when it is shown, so an error raised anywhere carries a ``Text`` (message id + parameters)
and becomes a string in the language of the moment -- or in the dashboard user's language: the dashboard
renders ``exc.text.render(lang)`` (pages/actions.py).

- ``t(id, lang=None, **params)``: the text now, in the configured language (``lang=`` for another one);
- ``Text(id, params)`` / ``msg(id, **params)``: a text rendered later (what the typed errors of errors.py
  carry); ``str()`` renders it, ``.render(lang)`` in a given language;
- ``texts(lang)``: the whole table in one language (id -> text).

In a dashboard component, use ``oneapi_app.pages.texts.tr`` (it follows the language switch in the browser)::

    # oneapi_app/i18n/ui_mypage.py
    UI = {"mypage.title": {"en": "My page", "zh": "我的页面"},
          "mypage.count": {"en": "{n} rows", "zh": "共 {n} 行"}}
    # oneapi_app/pages/mypage.py
    from .texts import tr
    rx.heading(tr("mypage.title")); rx.text(tr("mypage.count", n=MyState.total))

Placeholders are ``str.format`` fields (``{model}``); both languages of a message use the same ones
(tests/test_i18n.py checks it).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from .messages import SERVER

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _merge() -> dict[str, dict[str, str]]:
    table = dict(SERVER)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("ui_"):
            continue
        part: dict[str, dict[str, str]] = importlib.import_module(f"{__name__}.{info.name}").UI
        twice = set(part) & set(table)
        if twice:
            raise RuntimeError(f"i18n/{info.name}.py redefines message ids: {', '.join(sorted(twice))}")
        table.update(part)
    return table


MESSAGES: dict[str, dict[str, str]] = _merge()

_language = DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """The language of every text from now on (the runtime calls it with the LANGUAGE setting)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    global _language
    _language = lang


def language() -> str:
    return _language


def normalize(lang: str | None) -> str:
    """A browser's or a user's language tag as one of ours: ``zh-CN`` -> ``zh``, anything else -> ``en``."""
    return "zh" if str(lang or "").strip().lower().startswith("zh") else "en"


def t(msg_id: str, lang: str | None = None, **params: object) -> str:
    """The text of a message id in ``lang`` (default: the configured language), its fields filled in."""
    text = MESSAGES[msg_id][lang or _language]
    return text.format(**params) if params else text.format()


def texts(lang: str | None = None) -> dict[str, str]:
    """The whole table in one language, unformatted: id -> text (for a page that renders texts itself)."""
    chosen = lang or _language
    return {msg_id: variants[chosen] for msg_id, variants in MESSAGES.items()}


@dataclass(frozen=True, slots=True)
class Text:
    """A message id and its parameters, rendered when shown: ``str(Text(...))``."""

    id: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return t(self.id, lang, **self.params)

    def __str__(self) -> str:
        return self.render()


def msg(msg_id: str, **params: object) -> Text:
    if msg_id not in MESSAGES:
        raise KeyError(f"unknown message id {msg_id!r}")
    return Text(msg_id, params)
