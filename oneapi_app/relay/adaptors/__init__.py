"""Provider adaptors: pure translators behind one Adaptor protocol (one module per provider family).

``adaptor_for(type_id)`` returns the adaptor of a channel type, or None when that family has no adaptor yet.
"""

from __future__ import annotations

from ...catalog.channel_types import channel_type
from .anthropic import AnthropicAdaptor
from .base import Adaptor
from .bedrock import BedrockAdaptor
from .gemini import GeminiAdaptor
from .openai import OpenAIAdaptor
from .vertex import VertexAdaptor

_OPENAI = OpenAIAdaptor()
_BY_FAMILY: dict[str, Adaptor] = {"openai": _OPENAI, "anthropic": AnthropicAdaptor(), "gemini": GeminiAdaptor(),
                                  "bedrock": BedrockAdaptor(), "vertex": VertexAdaptor()}


def adaptor_for(type_id: int) -> Adaptor | None:
    return _BY_FAMILY.get(channel_type(type_id).family)
