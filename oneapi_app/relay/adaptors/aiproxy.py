"""AIProxy Library (channel type 21, family ``aiproxy``): the knowledge-base question API of aiproxy.io.

``POST {base}/api/library/ask`` with ``{"model", "query", "libraryId", "stream"}``: the query is the last
message's text, the library the channel config's ``library_id``. The answer's documents are appended to
the text as a Markdown list ("参考文档", as one-api does). The API reports no usage: the gateway counts
locally. Errors: ``{"errCode", "message"}`` (or ``success: false``).
"""

from __future__ import annotations

import time

import orjson

from ...catalog.prices_cn import AIPROXY_LIBRARY
from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer, Event, Finish, StreamError, TextDelta
from ..upstream import UpstreamRequest, status_failure
from .base import Call, Target, load_object, try_object
from .cn_common import ProviderDecoder, auth_failure, base_url, failure, last_text, new_id, no_endpoint, number

DEFAULT_BASE = "https://api.aiproxy.io"
PROVIDER = "AIProxy Library"


def documents_markdown(documents: object) -> str:
    items = [d for d in documents or () if isinstance(d, dict)] if isinstance(documents, list) else []
    if not items:
        return ""
    lines = "".join(f"{i}. [{d.get('title') or ''}]({d.get('url') or ''})\n" for i, d in enumerate(items, 1))
    return "\n\n参考文档：\n" + lines


def library_failure(data: dict, status: int = 200) -> UpstreamFailure:
    code = number(data, "errCode")
    message = str(data.get("message") or f"AIProxy Library error {code}")
    if status == 401 or code == 401 or "token" in message.lower() and "invalid" in message.lower():
        return auth_failure(message, code or "invalid_api_key")
    if status == 429 or code == 429:
        return failure(message, 429, code=code)
    return failure(message, status if status >= 400 else 500, code=code or "aiproxy_error")


def _is_error(data: dict) -> bool:
    return bool(number(data, "errCode")) or data.get("success") is False


class LibraryDecoder(ProviderDecoder):
    """``data: {"content", "finish", "documents"}`` chunks -> events; the documents close the answer."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.documents: object = None

    def feed(self, payload: bytes) -> list[Event]:
        data = try_object(payload)
        if data is None:
            return []
        if _is_error(data):
            return [StreamError(library_failure(data))]
        events = self.opening()
        if data.get("content"):
            events.append(TextDelta(str(data["content"])))
        if data.get("documents"):
            self.documents = data["documents"]
        return events

    def finish(self) -> list[Event]:
        tail = documents_markdown(self.documents)
        return [*([TextDelta(tail)] if tail else []), Finish("stop")]


class AIProxyLibraryAdaptor:
    name = "aiproxy"
    family = "aiproxy"
    models = tuple(AIPROXY_LIBRARY)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise no_endpoint(PROVIDER, call.kind)
        config = target.config if isinstance(target.config, dict) else {}
        library = str(config.get("library_id") or "")
        if not library:
            raise failure(str(msg("relay.aiproxy_no_library")), 500, kind="one_api_error",
                          code="channel_config_missing", retryable=True)
        body = {"model": call.model, "query": last_text(call.body), "libraryId": library, "stream": call.stream}
        headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json",
                   "Accept": "text/event-stream" if call.stream else "application/json"}
        return UpstreamRequest("POST", f"{base_url(target, DEFAULT_BASE)}/api/library/ask", headers,
                               orjson.dumps(body))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        data = load_object(body)
        if _is_error(data):
            raise library_failure(data)
        return Answer(id=new_id(), model=call.model, created=int(time.time()),
                      text=str(data.get("answer") or "") + documents_markdown(data.get("documents")))

    def decoder(self, call: Call) -> LibraryDecoder:
        return LibraryDecoder(call.model)

    def frame_reader(self) -> None:
        return None

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        data = try_object(body)
        if data is not None and (_is_error(data) or data.get("message")):
            return library_failure(data, status)
        return status_failure(status, body)
