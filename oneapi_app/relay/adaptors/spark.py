"""iFlytek Spark v1 (channel type 18, family ``xunfei``): the signed websocket API.

- key ``APPID|APISecret|APIKey`` (one-api's order);
- the API version comes from the model name as one-api maps it (``Spark-Lite`` -> v1.1, ``Spark-Pro`` ->
  v3.1, ``Spark-Max`` -> v3.5, ``Spark-4.0-Ultra`` -> v4.0, ``SparkDesk-v3.5`` -> v3.5...), else from the
  channel config's ``api_version`` (or its ``other`` field), else v1.1; the version decides the path
  (``/v3.5/chat``, ``/chat/pro-128k``, ``/chat/max-32k``) and the ``domain`` of the request;
- the URL ``wss://spark-api.xf-yun.com{path}`` (or the channel's base URL) carries the signature: HMAC-SHA256
  with the APISecret over ``host``, ``date`` and the request line, in the ``authorization`` query parameter;
- the call is described purely (``UpstreamRequest.websocket_message`` = the first message); every message
  the server sends is one frame for the decoder; the server closes after the last (``status`` 2).

Tools go as ``functions`` for v3+ domains; a ``function_call`` in the answer becomes a tool call. Errors
come in the frames' ``header.code`` (10013/10014 content audit, 11200-11202 authorisation and limits...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate
from urllib.parse import urlencode, urlsplit

import orjson

from ...catalog.prices_cn import SPARK
from ...errors import UpstreamFailure
from ..events import Answer, Event, Finish, StreamError, TextDelta, ToolCallDelta, UsageReport
from ..upstream import UpstreamRequest, status_failure
from .base import Call, Target, Usage, try_object
from .cn_common import (
    ProviderDecoder,
    arguments_text,
    auth_failure,
    failure,
    fold,
    messages_of,
    new_id,
    no_endpoint,
    number,
    obj,
    openai_tools,
    split_key,
    text_of,
)

DEFAULT_BASE = "wss://spark-api.xf-yun.com"
PROVIDER = "Xunfei Spark"
MODEL_VERSIONS = {"Spark-Lite": "v1.1", "Spark-Pro": "v3.1", "Spark-Pro-128K": "v3.1-128K", "Spark-Max": "v3.5",
                  "Spark-Max-32K": "v3.5-32K", "Spark-4.0-Ultra": "v4.0"}
DOMAINS = {"v1.1": "lite", "v2.1": "generalv2", "v3.1": "generalv3", "v3.1-128K": "pro-128k", "v3.5": "generalv3.5",
           "v3.5-32K": "max-32k", "v4.0": "4.0Ultra"}
PATHS = {"v3.1-128K": "/chat/pro-128k", "v3.5-32K": "/chat/max-32k"}
RECORD = b"\x1e"  # separates messages in a whole (non-stream) answer: never inside JSON text


def api_version(target: Target, model: str) -> str:
    version = MODEL_VERSIONS.get(model)
    if version is None and "-" in model:
        version = model.split("-", 1)[1]
    if not version:
        config = target.config if isinstance(target.config, dict) else {}
        version = str(config.get("api_version") or (target.other or "").strip() or "v1.1")
    return version


def domain(version: str) -> str:
    return DOMAINS.get(version) or f"general{version}"


def authorization(api_key: str, api_secret: str, host: str, date: str, path: str) -> str:
    """The ``authorization`` query value (Xunfei's "general URL authentication")."""
    signed = f"host: {host}\ndate: {date}\nGET {path} HTTP/1.1"
    signature = base64.b64encode(hmac.new(api_secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()
    origin = (f'api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line", '
              f'signature="{signature}"')
    return base64.b64encode(origin.encode()).decode()


def signed_url(base: str, path: str, api_key: str, api_secret: str, now: float | None = None) -> str:
    host = urlsplit(base).netloc
    date = formatdate(time.time() if now is None else now, usegmt=True)
    query = urlencode({"authorization": authorization(api_key, api_secret, host, date, path), "date": date,
                       "host": host})
    return f"{base}{path}?{query}"


# -- request --------------------------------------------------------------------------------------------------
def first_message(body: dict, app_id: str, domain_name: str) -> dict:
    texts = []
    for message in messages_of(body):
        role = str(message.get("role") or "user")
        if role == "developer":
            role = "system"
        if role == "tool":
            role = "user"
        texts.append({"role": role, "content": text_of(message.get("content"))})
    chat: dict = {"domain": domain_name}
    if isinstance(body.get("temperature"), int | float) and not isinstance(body.get("temperature"), bool):
        chat["temperature"] = body["temperature"]
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        chat["max_tokens"] = max_tokens
    if isinstance(body.get("top_k"), int):
        chat["top_k"] = body["top_k"]
    payload: dict = {"message": {"text": texts}}
    tools = openai_tools(body)
    if tools and (domain_name.startswith("generalv3") or domain_name == "4.0Ultra"):
        payload["functions"] = {"text": tools}
    header: dict = {"app_id": app_id}
    if isinstance(body.get("user"), str) and body["user"]:
        header["uid"] = body["user"][:32]
    return {"header": header, "parameter": {"chat": chat}, "payload": payload}


# -- answers --------------------------------------------------------------------------------------------------
def spark_failure(code: int, message: str) -> UpstreamFailure:
    if code in (10013, 10014, 10019):  # input/output refused by the content audit
        return failure(message, 400, kind="invalid_request_error", code=code, retryable=False)
    if code in (11200,):
        return failure(message, 403, kind="permission_error", code=code, retryable=True)
    if code in (11201, 11202, 11203):
        return failure(message, 429, code=code)
    if code in (10163, 10160, 10161, 10907, 10004, 10005):
        return failure(message, 400, kind="invalid_request_error", code=code, retryable=False)
    return failure(message, 500, code=code)


def usage_of(payload: dict) -> Usage | None:
    found = payload.get("usage")
    text = found.get("text") if isinstance(found, dict) else None
    if not isinstance(text, dict):
        return None
    prompt, completion = number(text, "prompt_tokens"), number(text, "completion_tokens")
    return Usage(prompt, completion) if prompt or completion else None


class SparkDecoder(ProviderDecoder):
    """One websocket message per frame -> events (text deltas, a function call, usage on the last)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.calls = 0

    def feed(self, frame: bytes) -> list[Event]:
        data = try_object(frame)
        if data is None:
            return []
        header = obj(data.get("header"))
        code = number(header, "code")
        if code:
            return [StreamError(spark_failure(code, str(header.get("message") or f"Spark error {code}")))]
        events = self.opening(str(header.get("sid") or ""))
        payload = obj(data.get("payload"))
        choices = obj(payload.get("choices"))
        for item in choices.get("text") or ():
            if not isinstance(item, dict):
                continue
            if item.get("content"):
                events.append(TextDelta(str(item["content"])))
            function = item.get("function_call")
            if isinstance(function, dict) and function.get("name"):
                events.append(ToolCallDelta(self.calls, f"call_{new_id()[9:33]}", str(function["name"]),
                                            arguments_text(function.get("arguments"))))
                self.calls += 1
        found = usage_of(payload)
        if found is not None:
            events.append(UsageReport(found))
        if number(choices, "status") == 2 or number(header, "status") == 2:
            events.append(Finish("tool_calls" if self.calls else "stop"))
        return events


class PassFrames:
    """Websocket chunks are whole messages already: each is one frame."""

    def feed(self, chunk: bytes) -> list[bytes]:
        return [chunk] if chunk else []

    def finish(self) -> list[bytes]:
        return []


class SparkAdaptor:
    name = "xunfei"
    family = "xunfei"
    models = tuple(SPARK)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise no_endpoint(PROVIDER, call.kind)
        app_id, api_secret, api_key = split_key(target, PROVIDER, "APPID|APISecret|APIKey", 3)
        version = api_version(target, call.model)
        path = PATHS.get(version) or f"/{version}/chat"
        url = signed_url((target.base_url or DEFAULT_BASE).rstrip("/"), path, api_key, api_secret)
        message = first_message(call.body, app_id, domain(version))
        return UpstreamRequest("GET", url, {}, None, websocket_message=orjson.dumps(message))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        """A whole answer: the messages of the websocket (separated by RS bytes, ws_upstream.read)."""
        decoder = self.decoder(call)
        events: list[Event] = []
        for frame in body.split(RECORD):
            if frame.strip():
                events += decoder.feed(frame.strip())
        if not events:
            raise failure("Xunfei Spark answered no message", 502, code="empty_response")
        return fold(events, call.model)

    def decoder(self, call: Call) -> SparkDecoder:
        return SparkDecoder(call.model)

    def frame_reader(self) -> PassFrames:
        return PassFrames()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        data = try_object(body) or {}
        header = obj(data.get("header"))
        if number(header, "code"):
            return spark_failure(number(header, "code"), str(header.get("message") or "Spark error"))
        if status in (401, 403):
            return auth_failure(str(data.get("message") or f"Spark refused the signature ({status})"))
        return status_failure(status, body)
