"""Provider adaptors: pure translators behind one Adaptor protocol (one module per provider family).

``adaptor_for(type_id)`` returns the adaptor of a channel type, or None when that family has no adaptor yet;
``image_maker_for(type_id)`` the one generating images with a provider's own API (Replicate; DashScope for Ali
and Ali Bailian channels alike).
"""

from __future__ import annotations

from ...catalog.channel_types import channel_type
from .aiproxy import AIProxyLibraryAdaptor
from .ali_image import AliImageAdaptor
from .anthropic import AnthropicAdaptor
from .baidu import BaiduAdaptor
from .base import Adaptor, ImageMaker
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


_REPLICATE = _BY_FAMILY["replicate"]
assert isinstance(_REPLICATE, ReplicateAdaptor)
_DASHSCOPE = AliImageAdaptor()  # Ali (17) and Ali Bailian (49): the same DashScope text2image API and host
_IMAGE_MAKERS: dict[int, ImageMaker] = {46: _REPLICATE, 17: _DASHSCOPE, 49: _DASHSCOPE}


def image_maker_for(type_id: int) -> ImageMaker | None:
    """The adaptor generating images with the provider's own API (/v1/images/generations), or None: the
    channel's OpenAI-compatible images endpoint serves it (or the type serves no images)."""
    return _IMAGE_MAKERS.get(type_id)
