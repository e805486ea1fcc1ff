"""PaLM2 (channel type 11, family ``palm``): retired.

Google shut the PaLM API down (models ``chat-bison-001``, ``text-bison-001``); channels of this type still
load from existing databases, but every request gets a clear error naming the replacement (a Gemini
channel, type 24). The error is 410 and not retryable (the request is refunded).
"""

from __future__ import annotations

from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer, EventDecoder
from ..upstream import UpstreamRequest, status_failure
from .base import Call, Target


def retired() -> UpstreamFailure:
    message = str(msg("relay.palm_retired"))
    return UpstreamFailure(msg("relay.palm_retired"), status=410, retryable=False,
                           body={"message": message, "type": "invalid_request_error", "param": "",
                                 "code": "channel_type_retired"})


class PaLMAdaptor:
    name = "palm"
    family = "palm"
    retired = True
    models: tuple[str, ...] = ()

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        raise retired()

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        raise retired()

    def decoder(self, call: Call) -> EventDecoder:
        raise retired()

    def frame_reader(self) -> None:
        return None

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return status_failure(status, body)
