"""Baidu Wenxin / ERNIE, API v1 (channel type 15, family ``baidu``): Qianfan's "wenxinworkshop" endpoints.

- key ``AK|SK`` (API key | secret key): exchanged for an access token at ``{base}/oauth/2.0/token``
  (``grant_type=client_credentials``; the pipeline caches it until it expires, one exchange per key even
  under concurrency) and sent as ``?access_token=`` on every call;
- chat: ``POST {base}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/<endpoint>``; the endpoint comes from the
  model name as one-api maps it (``ERNIE-4.0-8K`` -> ``completions_pro``, ..., else the lower-cased name);
  system messages go to ``system``, tools to ``functions``; the stream is SSE ``data:`` chunks;
- embeddings: ``.../wenxinworkshop/embeddings/<endpoint>`` for ``Embedding-V1``, ``bge-large-*``, ``tao-8k``.

Baidu answers errors with HTTP 200 and ``{"error_code", "error_msg"}``; the codes are mapped to statuses
(quota and QPS limits -> 429, parameters -> 400, permission -> 403); an invalid or expired access token
(110/111) makes the pipeline forget it and make the call again after one fresh exchange.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import orjson

from ...catalog.prices_cn import BAIDU
from ...errors import CredentialRevoked, UpstreamFailure
from ...i18n import msg
from ..events import Answer, Event, Finish, StreamError, TextDelta, ToolCall, ToolCallDelta, UsageReport
from ..upstream import UpstreamRequest, status_failure
from .base import Call, CredentialRequest, Parsed, Target, Usage, load_object, try_object
from .cn_common import (
    ProviderDecoder,
    arguments_text,
    auth_failure,
    base_url,
    embeddings_answer,
    failure,
    key_hash,
    messages_of,
    new_id,
    no_endpoint,
    number,
    obj,
    openai_tools,
    split_key,
    text_of,
)

DEFAULT_BASE = "https://aip.baidubce.com"
PROVIDER = "Baidu"
ENDPOINTS = {
    "ERNIE-4.0": "completions_pro", "ERNIE-Bot-4": "completions_pro", "ERNIE-Bot": "completions",
    "ERNIE-Bot-turbo": "eb-instant", "ERNIE-Speed": "ernie_speed", "ERNIE-4.0-8K": "completions_pro",
    "ERNIE-3.5-8K": "completions", "ERNIE-3.5-8K-0205": "ernie-3.5-8k-0205", "ERNIE-3.5-8K-1222": "ernie-3.5-8k-1222",
    "ERNIE-Bot-8K": "ernie_bot_8k", "ERNIE-3.5-4K-0205": "ernie-3.5-4k-0205", "ERNIE-Speed-8K": "ernie_speed",
    "ERNIE-Speed-128K": "ernie-speed-128k", "ERNIE-Lite-8K-0922": "eb-instant", "ERNIE-Lite-8K-0308": "ernie-lite-8k",
    "ERNIE-Tiny-8K": "ernie-tiny-8k", "BLOOMZ-7B": "bloomz_7b1", "Embedding-V1": "embedding-v1",
    "bge-large-zh": "bge_large_zh", "bge-large-en": "bge_large_en", "tao-8k": "tao_8k",
}
EMBEDDING_PREFIXES = ("Embedding", "bge-large", "tao-8k")
FINISH = {"normal": "stop", "stop": "stop", "length": "length", "content_filter": "content_filter",
          "function_call": "tool_calls"}
LIMIT_CODES = {4, 17, 18, 19, 336501, 336502, 336503, 336504, 336505, 336507}
TOKEN_CODES = {110, 111}  # access token invalid / expired: renewed and the call made again (CredentialRevoked)
PERMISSION_CODES = {6, 14, 15}
REQUEST_CODES = {3, 100}  # and 336001..336099: the request itself is wrong


def endpoint(model: str) -> str:
    kind = "embeddings" if model.startswith(EMBEDDING_PREFIXES) else "chat"
    return f"{kind}/{ENDPOINTS.get(model) or model.lower()}"


# -- request --------------------------------------------------------------------------------------------------
def chat_body(body: dict, stream: bool) -> dict:
    request: dict = {"messages": []}
    system: list[str] = []
    names: dict[str, str] = {}  # tool call id -> function name (a tool message names its function by id)
    for message in messages_of(body):
        role = str(message.get("role") or "user")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
            continue
        if role in ("tool", "function"):
            name = message.get("name") or names.get(str(message.get("tool_call_id") or ""), "")
            request["messages"].append({"role": "function", "name": str(name),
                                        "content": text_of(message.get("content"))})
            continue
        out: dict = {"role": role, "content": text_of(message.get("content"))}
        calls = message.get("tool_calls")
        for c in calls if isinstance(calls, list) else ():
            if isinstance(c, dict):
                names[str(c.get("id") or "")] = str(obj(c.get("function")).get("name") or "")
        if role == "assistant" and isinstance(calls, list) and calls and isinstance(calls[0], dict):
            function = obj(calls[0].get("function"))
            out["function_call"] = {"name": str(function.get("name") or ""),
                                    "arguments": arguments_text(function.get("arguments"))}
        request["messages"].append(out)
    if system:
        request["system"] = "\n".join(system)
    for src, dst in (("temperature", "temperature"), ("top_p", "top_p"), ("frequency_penalty", "penalty_score")):
        if isinstance(body.get(src), int | float) and not isinstance(body.get(src), bool):
            request[dst] = body[src]
    if stream:
        request["stream"] = True
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        request["max_output_tokens"] = max_tokens
    if isinstance(body.get("user"), str) and body["user"]:
        request["user_id"] = body["user"]
    stop = body.get("stop")
    if isinstance(stop, str | list) and stop:
        request["stop"] = [stop] if isinstance(stop, str) else list(stop)
    tools = openai_tools(body)
    if tools:
        request["functions"] = [{"name": str(f.get("name") or ""), "description": str(f.get("description") or ""),
                                 "parameters": f.get("parameters") or {"type": "object", "properties": {}}}
                                for f in tools]
    return request


def embeddings_body(body: dict) -> dict:
    value = body.get("input")
    out: dict = {"input": [value] if isinstance(value, str) else [str(v) for v in value or ()]}
    if isinstance(body.get("user"), str) and body["user"]:
        out["user_id"] = body["user"]
    return out


# -- errors ---------------------------------------------------------------------------------------------------
def baidu_failure(data: dict) -> UpstreamFailure:
    code = number(data, "error_code")
    message = str(data.get("error_msg") or f"Baidu error {code}")
    if code in LIMIT_CODES:
        return failure(message, 429, kind="baidu_error", code=code)
    if code in TOKEN_CODES:  # the cached access token was revoked: the pipeline renews it and tries again
        return CredentialRevoked(message, status=500, retryable=True,
                                 body={"message": message, "type": "baidu_error", "param": "", "code": str(code)})
    if code in PERMISSION_CODES:
        return failure(message, 403, kind="permission_error", code=code, retryable=True)
    if code in REQUEST_CODES or 336000 < code < 336100:
        return failure(message, 400, kind="invalid_request_error", code=code)
    return failure(message, 500, kind="baidu_error", code=code)


def _is_error(data: dict) -> bool:
    return bool(data.get("error_code")) or bool(data.get("error_msg"))


def parse_token(body: bytes) -> tuple[str, float]:
    """The token endpoint's answer -> (access token, lifetime in seconds)."""
    data = try_object(body) or {}
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        detail = f"{data.get('error') or 'no access_token'}: {data.get('error_description') or ''}".strip(": ")
        raise auth_failure(str(msg("relay.cn_token_failed", provider=PROVIDER, detail=detail)),
                           str(data.get("error") or "invalid_api_key"))
    return token, float(number(data, "expires_in") or 86400)


# -- answers --------------------------------------------------------------------------------------------------
def usage_of(data: object) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt, total = number(data, "prompt_tokens"), number(data, "total_tokens")
    completion = number(data, "completion_tokens") or max(total - prompt, 0)
    return Usage(prompt, completion) if prompt or completion else None


def _call_of(data: dict) -> ToolCall | None:
    function = data.get("function_call")
    if not isinstance(function, dict) or not function.get("name"):
        return None
    return ToolCall(f"call_{data.get('id') or new_id()[9:]}", str(function["name"]),
                    arguments_text(function.get("arguments")))


def chat_answer(model: str, data: dict) -> Answer:
    if _is_error(data):
        raise baidu_failure(data)
    answer = Answer(id=str(data.get("id") or new_id()), model=model, text=str(data.get("result") or ""),
                    created=number(data, "created") or int(time.time()), usage=usage_of(data.get("usage")))
    call = _call_of(data)
    if call is not None:
        answer.tool_calls = [call]
    answer.finish_reason = FINISH.get(str(data.get("finish_reason") or "normal"), "stop")
    if call is not None:
        answer.finish_reason = "tool_calls"
    elif data.get("is_truncated") and answer.finish_reason == "stop":
        answer.finish_reason = "length"
    return answer


class BaiduDecoder(ProviderDecoder):
    """ERNIE SSE chunks (``result`` deltas, ``is_end`` on the last, usage in each) -> events."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.ended = False

    def feed(self, payload: bytes) -> list[Event]:
        data = try_object(payload)
        if data is None:
            return []
        if _is_error(data):
            return [StreamError(baidu_failure(data))]
        events = self.opening(str(data.get("id") or ""))
        if data.get("result"):
            events.append(TextDelta(str(data["result"])))
        call = _call_of(data)
        if call is not None:
            events.append(ToolCallDelta(0, call.id, call.name, call.arguments))
        found = usage_of(data.get("usage"))
        if found is not None:
            events.append(UsageReport(found))
        if data.get("is_end") and not self.ended:
            self.ended = True
            reason = "tool_calls" if call is not None else FINISH.get(str(data.get("finish_reason") or "normal"), "stop")
            events.append(Finish(reason))
        return events


class BaiduAdaptor:
    name = "baidu"
    family = "baidu"
    models = tuple(BAIDU)

    def credential_request(self, target: Target) -> CredentialRequest:
        ak, sk = split_key(target, PROVIDER, "API Key|Secret Key", 2)
        query = urlencode({"grant_type": "client_credentials", "client_id": ak, "client_secret": sk})
        url = f"{base_url(target, DEFAULT_BASE)}/oauth/2.0/token?{query}"
        request = UpstreamRequest("POST", url, {"Content-Type": "application/json", "Accept": "application/json"}, b"")
        return CredentialRequest(cache_key=f"baidu:{key_hash(target.key)}", request=request, parse=parse_token)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind == "chat":
            body = chat_body(call.body, call.stream)
        elif call.kind == "embeddings":
            body = embeddings_body(call.body)
        else:
            raise no_endpoint(PROVIDER, call.kind)
        url = (f"{base_url(target, DEFAULT_BASE)}/rpc/2.0/ai_custom/v1/wenxinworkshop/{endpoint(call.model)}"
               f"?{urlencode({'access_token': target.credential})}")
        headers = {"Content-Type": "application/json",
                   "Accept": "text/event-stream" if call.stream else "application/json"}
        return UpstreamRequest("POST", url, headers, orjson.dumps(body))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return chat_answer(call.model, load_object(body))

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        """Embeddings in OpenAI's shape (chat goes through parse_answer)."""
        data = load_object(body)
        if _is_error(data):
            raise baidu_failure(data)
        items = [d for d in data.get("data") or () if isinstance(d, dict)]
        return embeddings_answer(call.model, items, "index", "embedding", usage_of(data.get("usage")))

    def decoder(self, call: Call) -> BaiduDecoder:
        return BaiduDecoder(call.model)

    def frame_reader(self) -> None:
        return None

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        data = try_object(body)
        if data is not None and _is_error(data):
            return baidu_failure(data)
        return status_failure(status, body)
