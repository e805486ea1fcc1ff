"""DeepL (channel type 38, family ``deepl``): chat completions answered by a translation.

The model names the target language as one-api does: ``deepl-zh`` -> ``ZH``, ``deepl-en-us`` -> ``EN-US``
(``deepl`` alone -> ``ZH``). The last message's text is translated (``POST {base}/v2/translate``, key in
``Authorization: DeepL-Auth-Key``). Usage is counted in characters: the prompt is DeepL's
``billed_characters`` (asked with ``show_billed_characters``; else the text's length), nothing for the
completion. DeepL does not stream: a stream request gets the translation as one delta.
"""

from __future__ import annotations

import time

import orjson

from ...catalog.prices_cn import DEEPL
from ...errors import UpstreamFailure
from ..events import Answer, Event
from ..upstream import UpstreamRequest
from .base import Call, Target, Usage, load_object, try_object
from .cn_common import (
    WholeBodyReader,
    auth_failure,
    base_url,
    failure,
    last_text,
    new_id,
    no_endpoint,
    number,
    status_mapped,
    whole_answer_events,
)

DEFAULT_BASE = "https://api-free.deepl.com"
PRO_BASE = "https://api.deepl.com"
PROVIDER = "DeepL"


def target_lang(model: str) -> str:
    _, _, lang = model.partition("-")
    return (lang or "ZH").upper()


def translate_body(call: Call) -> dict:
    return {"text": [last_text(call.body)], "target_lang": target_lang(call.model), "show_billed_characters": True}


def answer_of(call: Call, data: dict) -> Answer:
    if data.get("message") and not data.get("translations"):
        raise failure(str(data["message"]), 500, code="deepl_error")
    translations = [t for t in data.get("translations") or () if isinstance(t, dict)]
    text = "".join(str(t.get("text") or "") for t in translations)
    billed = sum(number(t, "billed_characters") for t in translations) or len(last_text(call.body))
    return Answer(id=new_id(), model=call.model, text=text, created=int(time.time()),
                  usage=Usage(billed, 0) if billed else None)


class DeepLDecoder:
    """The one JSON answer (WholeBodyReader) -> start, the translation, usage, finish."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def feed(self, frame: bytes) -> list[Event]:
        return whole_answer_events(lambda: answer_of(self.call, load_object(frame)))

    def finish(self) -> list[Event]:
        return []


def deepl_failure(status: int, body: bytes) -> UpstreamFailure:
    data = try_object(body) or {}
    message = str(data.get("message") or data.get("detail") or f"DeepL answered {status}")
    if status in (401, 403):
        return auth_failure(message)
    if status == 456:  # quota exceeded
        return failure(message, 429, kind="insufficient_quota", code="quota_exceeded", retryable=True)
    return status_mapped(status, body, message, "deepl_error", invalid=(400, 404, 413, 414))


class DeepLAdaptor:
    name = "deepl"
    family = "deepl"
    streams_json = True  # a stream request is answered with one JSON body (WholeBodyReader)
    models = tuple(DEEPL)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise no_endpoint(PROVIDER, call.kind)
        headers = {"Authorization": f"DeepL-Auth-Key {target.key}", "Content-Type": "application/json"}
        default = DEFAULT_BASE if target.key.endswith(":fx") else PRO_BASE  # DeepL Free keys end with ":fx"
        return UpstreamRequest("POST", f"{base_url(target, default)}/v2/translate", headers,
                               orjson.dumps(translate_body(call)))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return answer_of(call, load_object(body))

    def decoder(self, call: Call) -> DeepLDecoder:
        return DeepLDecoder(call)

    def frame_reader(self) -> WholeBodyReader:
        return WholeBodyReader()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return deepl_failure(status, body)
