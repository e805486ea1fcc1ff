"""Inbound dialects: one module per client format (OpenAI chat, Anthropic messages, OpenAI responses,
Gemini). Pure translators (no FastAPI, no services), tested with JSON fixtures. See base.py.

``dialect_for(name, kind)`` is the dialect of an endpoint row (relay/endpoints.py): ``chat`` is OpenAI's, one
instance per kind; every other dialect registers itself in ``DIALECTS`` under its name.
"""

from __future__ import annotations

from ..adaptors.base import Kind
from . import chat
from .base import Dialect
from .messages import MESSAGES

DIALECTS: dict[str, Dialect] = {"messages": MESSAGES}


def dialect_for(name: str, kind: Kind) -> Dialect:
    if name == "chat":
        return chat.BY_KIND[kind]
    return DIALECTS[name]
