"""Provider adaptors: pure translators behind one Adaptor protocol (one module per provider family).

``adaptor_for(type_id)`` returns the adaptor of a channel type, or None when that family has no adaptor yet.
"""

from __future__ import annotations

from ...catalog.channel_types import channel_type
from .aiproxy import AIProxyLibraryAdaptor
from .anthropic import AnthropicAdaptor
from .baidu import BaiduAdaptor
from .base import Adaptor
from .bedrock import BedrockAdaptor
from .coze import CozeAdaptor
from .deepl import DeepLAdaptor
from .gemini import GeminiAdaptor
from .openai import OpenAIAdaptor
from .palm import PaLMAdaptor
from .replicate import ReplicateAdaptor
from .spark import SparkAdaptor
from .tencent import TencentAdaptor
from .vertex import VertexAdaptor

_OPENAI = OpenAIAdaptor()
_BY_FAMILY: dict[str, Adaptor] = {"openai": _OPENAI, "anthropic": AnthropicAdaptor(), "gemini": GeminiAdaptor(),
                                  "bedrock": BedrockAdaptor(), "vertex": VertexAdaptor()}
_BY_FAMILY["baidu"] = BaiduAdaptor()
_BY_FAMILY["xunfei"] = SparkAdaptor()
_BY_FAMILY["tencent"] = TencentAdaptor()
_BY_FAMILY["coze"] = CozeAdaptor()
_BY_FAMILY["deepl"] = DeepLAdaptor()
_BY_FAMILY["replicate"] = ReplicateAdaptor()
_BY_FAMILY["aiproxy"] = AIProxyLibraryAdaptor()
_BY_FAMILY["palm"] = PaLMAdaptor()


def adaptor_for(type_id: int) -> Adaptor | None:
    return _BY_FAMILY.get(channel_type(type_id).family)
