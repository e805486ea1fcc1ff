"""Provider adaptors: pure translators behind one Adaptor protocol (one module per provider family).

``adaptor_for(type_id)`` returns the adaptor of a channel type, or None when that family has no adaptor yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..channel_types import channel_type
from .anthropic import AnthropicAdaptor
from .base import Adaptor
from .gemini import DEFAULT_VERSION, GeminiAdaptor
from .openai import OpenAIAdaptor

if TYPE_CHECKING:
    from ...settings import Settings

_OPENAI = OpenAIAdaptor()
_GEMINI = GeminiAdaptor()
_BY_FAMILY: dict[str, Adaptor] = {"openai": _OPENAI, "anthropic": AnthropicAdaptor(), "gemini": _GEMINI}


def configure(settings: Settings) -> None:
    """Process-wide adaptor defaults from the settings (GEMINI_VERSION, GEMINI_SAFETY_SETTING)."""
    _GEMINI.default_version = settings.gemini_version or DEFAULT_VERSION
    _GEMINI.safety_threshold = settings.gemini_safety_setting


def adaptor_for(type_id: int) -> Adaptor | None:
    return _BY_FAMILY.get(channel_type(type_id).family)
