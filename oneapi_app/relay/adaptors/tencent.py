"""Tencent Hunyuan (channel type 23, family ``tencent``): Tencent Cloud API 3.0, signed TC3-HMAC-SHA256.

- key ``AppId|SecretId|SecretKey`` (one-api's shape; the AppId is not sent);
- chat: ``POST {base}/`` with ``X-TC-Action: ChatCompletions``, ``X-TC-Version: 2023-09-01``, the body in
  Hunyuan's capitalised fields (Messages, Tools, Stream...); the stream is SSE ``data:`` chunks;
- embeddings: ``X-TC-Action: GetEmbedding`` (``InputList``);
- config ``region`` (optional): sent as ``X-TC-Region``.

Errors come in a 200 body (``{"Response": {"Error": {"Code", "Message"}}}``) and are mapped by their code:
``AuthFailure.*`` -> 401, limits -> 429, parameters -> 400, arrears/unopened service -> 403.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from ...catalog.prices_cn import TENCENT
from ...errors import UpstreamFailure
from ..events import Answer, Event, Finish, StreamError, TextDelta, ToolCall, ToolCallDelta, UsageReport
from ..upstream import UpstreamRequest, status_failure
from .base import Call, Parsed, Target, Usage, load_object, try_object
from .cn_common import (
    ProviderDecoder,
    arguments_text,
    auth_failure,
    base_url,
    embeddings_answer,
    failure,
    messages_of,
    new_id,
    number,
    obj,
    openai_tools,
    split_key,
    text_of,
)

DEFAULT_BASE = "https://hunyuan.tencentcloudapi.com"
SERVICE = "hunyuan"
VERSION = "2023-09-01"
CONTENT_TYPE = "application/json"
FINISH = {"stop": "stop", "length": "length", "sensitive": "content_filter", "tool_calls": "tool_calls",
          "function_call": "tool_calls"}


# -- TC3-HMAC-SHA256 ------------------------------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, *, service: str, host: str, timestamp: int,
                      payload: bytes, content_type: str = CONTENT_TYPE, action: str | None = None) -> str:
    """The ``Authorization`` header of a Tencent Cloud API 3.0 POST (their "signature v3" document).
    Signed headers: content-type and host, plus x-tc-action when ``action`` is given."""
    headers = {"content-type": content_type.lower(), "host": host.lower()}
    if action is not None:
        headers["x-tc-action"] = action.lower()
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", canonical_headers, signed, hashlib.sha256(payload).hexdigest()])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed}, Signature={signature}"


# -- request --------------------------------------------------------------------------------------------------
def _content(message: dict) -> dict:
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
        parts: list[dict] = []
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                parts.append({"Type": "text", "Text": str(part.get("text") or "")})
            elif part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                parts.append({"Type": "image_url", "ImageUrl": {"Url": str(url or "")}})
        return {"Contents": parts}
    return {"Content": text_of(content)}


def chat_body(body: dict, model: str, stream: bool) -> dict:
    messages = []
    for message in messages_of(body):
        role = str(message.get("role") or "user")
        out: dict = {"Role": role, **_content(message)}
        if role == "assistant" and isinstance(message.get("tool_calls"), list):
            out["ToolCalls"] = [
                {"Id": str(c.get("id") or ""), "Type": "function",
                 "Function": {"Name": str(obj(c.get("function")).get("name") or ""),
                              "Arguments": arguments_text(obj(c.get("function")).get("arguments"))}}
                for c in message["tool_calls"] if isinstance(c, dict)]
        if role == "tool":
            out["ToolCallId"] = str(message.get("tool_call_id") or "")
        messages.append(out)
    request: dict = {"Model": model, "Messages": messages, "Stream": stream}
    for src, dst in (("top_p", "TopP"), ("temperature", "Temperature")):
        if isinstance(body.get(src), int | float):
            request[dst] = body[src]
    if isinstance(body.get("stop"), str | list):
        request["Stop"] = [body["stop"]] if isinstance(body["stop"], str) else list(body["stop"])
    tools = openai_tools(body)
    if tools:
        request["Tools"] = [{"Type": "function",
                             "Function": {"Name": str(f.get("name") or ""), "Description": str(f.get("description") or ""),
                                          "Parameters": orjson.dumps(f.get("parameters") or {}).decode()}}
                            for f in tools]
        choice = body.get("tool_choice")
        if choice in ("auto", "none"):
            request["ToolChoice"] = choice
        elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            request["ToolChoice"] = "custom"
            name = str(choice["function"].get("name") or "")
            request["CustomTool"] = next(t for t in request["Tools"] if t["Function"]["Name"] == name) \
                if any(t["Function"]["Name"] == name for t in request["Tools"]) else \
                {"Type": "function", "Function": {"Name": name}}
    return request


def embeddings_body(body: dict) -> dict:
    value = body.get("input")
    inputs = [value] if isinstance(value, str) else [str(v) for v in value or ()]
    return {"InputList": inputs}


# -- answers --------------------------------------------------------------------------------------------------
def tencent_failure(error: dict, status: int = 200) -> UpstreamFailure:
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or code or "Tencent error")
    if code.startswith("AuthFailure"):
        return auth_failure(message, code)
    if code.startswith(("RequestLimitExceeded", "LimitExceeded")):
        return failure(message, 429, code=code)
    if code.startswith(("InvalidParameter", "MissingParameter", "UnknownParameter", "UnsupportedOperation")):
        return failure(message, 400, kind="invalid_request_error", code=code)
    if code.startswith(("ResourceUnavailable", "UnauthorizedOperation", "FailedOperation.ServiceNotActivated")) or "Arrears" in code:
        return failure(message, 403, kind="permission_error", code=code, retryable=True)
    if code.startswith(("InternalError", "FailedOperation", "ResourceInsufficient")):
        return failure(message, 500, code=code)
    return failure(message, status if status >= 400 else 500, code=code)


def _response(data: dict) -> dict:
    """The ``Response`` object of an API 3.0 answer (stream chunks come without it)."""
    inner = data.get("Response")
    return inner if isinstance(inner, dict) else data


def _error_of(data: dict) -> dict | None:
    response = _response(data)
    error = response.get("Error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) and (error.get("Code") or error.get("Message")) else None


def usage_of(data: object) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt, completion = number(data, "PromptTokens"), number(data, "CompletionTokens")
    if not prompt and not completion:
        return None
    return Usage(prompt, completion)


def _tool_calls(message: dict) -> list[ToolCall]:
    calls = []
    for call in message.get("ToolCalls") or ():
        if isinstance(call, dict):
            function = obj(call.get("Function"))
            calls.append(ToolCall(str(call.get("Id") or new_id()), str(function.get("Name") or ""),
                                  str(function.get("Arguments") or "")))
    return calls


def chat_answer(model: str, data: dict) -> Answer:
    response = _response(data)
    error = _error_of(data)
    if error is not None:
        raise tencent_failure(error)
    answer = Answer(id=str(response.get("Id") or response.get("RequestId") or new_id()), model=model,
                    created=number(response, "Created") or int(time.time()),
                    usage=usage_of(response.get("Usage")))
    choices = [c for c in response.get("Choices") or () if isinstance(c, dict)]
    if choices:
        message = obj(choices[0].get("Message"))
        answer.text = str(message.get("Content") or "")
        answer.tool_calls = _tool_calls(message)
        answer.finish_reason = FINISH.get(str(choices[0].get("FinishReason") or "stop"), "stop")
        if answer.tool_calls and answer.finish_reason == "stop":
            answer.finish_reason = "tool_calls"
    return answer


class TencentDecoder(ProviderDecoder):
    """Hunyuan SSE chunks -> events. Usage is cumulative in every chunk (the last one counts)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.calls: dict[str, int] = {}

    def feed(self, payload: bytes) -> list[Event]:
        data = try_object(payload)
        if data is None:
            return []
        error = _error_of(data)
        if error is not None:
            return [StreamError(tencent_failure(error))]
        events = self.opening(str(data.get("Id") or ""))
        for choice in data.get("Choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = obj(choice.get("Delta"))
            if delta.get("Content"):
                events.append(TextDelta(str(delta["Content"])))
            for call in delta.get("ToolCalls") or ():
                if not isinstance(call, dict):
                    continue
                function = obj(call.get("Function"))
                call_id = str(call.get("Id") or "")
                if call_id and call_id not in self.calls:
                    self.calls[call_id] = len(self.calls)
                    events.append(ToolCallDelta(self.calls[call_id], call_id, str(function.get("Name") or ""),
                                                str(function.get("Arguments") or "")))
                elif function.get("Arguments"):
                    index = self.calls.get(call_id, max(len(self.calls) - 1, 0))
                    events.append(ToolCallDelta(index, arguments=str(function["Arguments"])))
            reason = choice.get("FinishReason")
            if reason:
                found = usage_of(data.get("Usage"))
                if found is not None:
                    events.append(UsageReport(found))
                events.append(Finish(FINISH.get(str(reason), "stop")))
                return events
        found = usage_of(data.get("Usage"))
        if found is not None:
            events.append(UsageReport(found))
        return events


class TencentAdaptor:
    name = "tencent"
    family = "tencent"
    models = tuple(TENCENT)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        _, secret_id, secret_key = split_key(target, "Tencent Hunyuan", "AppId|SecretId|SecretKey", 3)
        if call.kind == "chat":
            action, body = "ChatCompletions", chat_body(call.body, call.model, call.stream)
        elif call.kind == "embeddings":
            action, body = "GetEmbedding", embeddings_body(call.body)
        else:
            from .cn_common import no_endpoint

            raise no_endpoint("Tencent Hunyuan", call.kind)
        url = base_url(target, DEFAULT_BASE) + "/"
        payload = orjson.dumps(body)
        timestamp = int(time.time())
        host = urlsplit(url).netloc
        headers = {"Authorization": tc3_authorization(secret_id, secret_key, service=SERVICE, host=host,
                                                      timestamp=timestamp, payload=payload, action=action),
                   "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": action, "X-TC-Version": VERSION,
                   "X-TC-Timestamp": str(timestamp)}
        region = target.config.get("region") if isinstance(target.config, dict) else None
        if region:
            headers["X-TC-Region"] = str(region)
        return UpstreamRequest("POST", url, headers, payload)

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return chat_answer(call.model, load_object(body))

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        """Embeddings (``GetEmbedding``) in OpenAI's shape; chat goes through parse_answer."""
        data = load_object(body)
        error = _error_of(data)
        if error is not None:
            raise tencent_failure(error)
        response = _response(data)
        items = [d for d in response.get("Data") or () if isinstance(d, dict)]
        found = usage_of(response.get("Usage")) or (
            Usage(number(response.get("Usage"), "TotalTokens"), 0) if number(response.get("Usage"), "TotalTokens")
            else None)
        return embeddings_answer(call.model, items, "Index", "Embedding", found)

    def decoder(self, call: Call) -> TencentDecoder:
        return TencentDecoder(call.model)

    def frame_reader(self) -> None:
        return None

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        data = try_object(body)
        error = _error_of(data) if data is not None else None
        if error is not None:
            return tencent_failure(error, status)
        return status_failure(status, body)
