"""OpenAI chat <-> Anthropic Messages conversion (pure functions, used by adaptors/anthropic.py).

Request: system/developer messages become the top-level ``system``; user/assistant content parts become
text and image blocks; assistant ``tool_calls`` become ``tool_use`` blocks and ``tool`` messages become
``tool_result`` blocks of a user turn; consecutive turns of one role are merged (Anthropic requires the
roles to alternate). OpenAI-only fields (n, logprobs, presence_penalty, stream_options, ...) are dropped.

Response: a Messages answer becomes an ``events.Answer`` with text, thinking, tool calls and usage, where
prompt tokens count the cached input too (``cache_read`` + ``cache_creation`` + ``input``).
"""

from __future__ import annotations

import time
from typing import TypeGuard

import orjson

from ...errors import UpstreamFailure
from ..events import Answer, ToolCall
from ..upstream import status_failure
from .base import Usage

DEFAULT_MAX_TOKENS = 4096
MAX_TOKENS_CAP = 128_000  # above every Claude model's output limit: a larger value can only be refused
# Anthropic error type -> HTTP status (for errors that arrive in a 200 body or inside a stream).
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}
RETRYABLE_TYPES = {"rate_limit_error", "api_error", "overloaded_error", "timeout_error"}
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "pause_turn": "stop", "refusal": "content_filter", "model_context_window_exceeded": "length"}


# -- request --------------------------------------------------------------------------------------------
def _text_of(content: object) -> str:
    """The text of a string or a list of content parts (non-text parts ignored)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part["text"] for part in content
                         if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"])
    return ""


def _image_block(part: dict) -> dict | None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: object) -> list[dict]:
    """OpenAI message content -> Anthropic content blocks (empty text dropped: Anthropic refuses it)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, str):
            part = {"type": "text", "text": part}
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text") and isinstance(part.get("text"), str) and part["text"]:
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            image = _image_block(part)
            if image is not None:
                blocks.append(image)
    return blocks


def _tool_input(arguments: object) -> dict:
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str) and arguments.strip():
        try:
            value = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def _assistant_blocks(message: dict) -> list[dict]:
    blocks = _blocks(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        blocks.append({"type": "tool_use", "id": str(call.get("id") or ""), "name": str(function.get("name") or ""),
                       "input": _tool_input(function.get("arguments"))})
    return blocks


def _tool_result(message: dict) -> dict:
    content = message.get("content")
    result: dict = {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id") or "")}
    if isinstance(content, list):
        blocks = _blocks(content)
        if blocks:
            result["content"] = blocks
    elif content is not None:
        result["content"] = content if isinstance(content, str) else orjson.dumps(content).decode()
    return result


def convert_messages(messages: list) -> tuple[str, list[dict]]:
    """(system text, Anthropic messages with alternating roles)."""
    system: list[str] = []
    turns: list[dict] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append(text)
            continue
        if role == "assistant":
            role, blocks = "assistant", _assistant_blocks(message)
        elif role == "tool":
            role, blocks = "user", [_tool_result(message)]
        else:
            role, blocks = "user", _blocks(message.get("content"))
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:  # one text block reads better (and is smaller) as a plain string
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return "\n\n".join(system), turns


def _tools(tools: object) -> list[dict]:
    out = []
    for tool in tools if isinstance(tools, list) else ():
        is_function = isinstance(tool, dict) and tool.get("type", "function") == "function"
        function = tool.get("function") if is_function else None
        if not isinstance(function, dict) or not function.get("name"):
            continue
        entry = {"name": function["name"]}
        if function.get("description"):
            entry["description"] = function["description"]
        schema = function.get("parameters")
        entry["input_schema"] = schema if isinstance(schema, dict) and schema else {"type": "object", "properties": {}}
        out.append(entry)
    return out


def _tool_choice(choice: object, parallel: object) -> dict | None:
    result: dict[str, object]
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        result = {"type": "tool", "name": choice["function"]["name"]}
    elif parallel is False:
        result = {"type": "auto"}
    else:
        return None
    if parallel is False:
        result["disable_parallel_tool_use"] = True
    return result


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def convert_request(body: dict, model: str, stream: bool) -> dict:
    """An OpenAI chat completion body -> a Messages API body."""
    system, messages = convert_messages(body.get("messages") or [])
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
    out: dict = {"model": model, "messages": messages, "max_tokens": min(int(max_tokens), MAX_TOKENS_CAP)}
    if system:
        out["system"] = system
    if _number(body.get("temperature")):
        out["temperature"] = min(max(body["temperature"], 0), 1)  # OpenAI allows up to 2, Anthropic 1
    if _number(body.get("top_p")):
        out["top_p"] = body["top_p"]
    if isinstance(body.get("top_k"), int) and not isinstance(body["top_k"], bool):
        out["top_k"] = body["top_k"]
    stop = body.get("stop")
    if isinstance(stop, str) and stop:
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = [s for s in stop if isinstance(s, str) and s]
    tools = _tools(body.get("tools"))
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    if stream:
        out["stream"] = True
    return out


# -- response -------------------------------------------------------------------------------------------
def _int(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    return int(value) if _number(value) else 0


def usage_of(data: object) -> Usage | None:
    """Anthropic usage -> Usage: prompt = input + cache reads + cache writes, cached = cache reads."""
    if not isinstance(data, dict):
        return None
    cached = _int(data, "cache_read_input_tokens")
    written = _int(data, "cache_creation_input_tokens")
    prompt = _int(data, "input_tokens") + cached + written
    completion = _int(data, "output_tokens")
    if prompt == 0 and completion == 0:
        return None
    return Usage(prompt, completion, cached, cache_creation_tokens=written)


def finish_reason(stop_reason: object) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    return FINISH_REASONS.get(stop_reason, "stop")


def answer_of(data: dict) -> Answer:
    """A Messages answer -> the internal Answer (thinking signature kept)."""
    texts: list[str] = []
    thinking: list[str] = []
    signature = ""
    calls: list[ToolCall] = []
    for block in data.get("content") or ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
            signature = str(block.get("signature") or signature)
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") if block.get("input") is not None else {}).decode()
            calls.append(ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), arguments))
    return Answer(id=str(data.get("id") or ""), model=str(data.get("model") or ""), text="".join(texts),
                  reasoning="".join(thinking), reasoning_signature=signature, tool_calls=calls,
                  finish_reason=finish_reason(data.get("stop_reason")) or "stop", usage=usage_of(data.get("usage")),
                  created=int(time.time()))


# -- errors ---------------------------------------------------------------------------------------------
def anthropic_failure(status: int, body: bytes | dict) -> UpstreamFailure:
    """An Anthropic error body ``{"type": "error", "error": {"type", "message"}}`` -> UpstreamFailure whose
    OpenAI error object keeps Anthropic's type (so authentication_error/permission_error disable the channel);
    any other body is read the OpenAI way."""
    data: object = body
    if isinstance(body, bytes):
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not (error.get("type") or error.get("message")):
        return status_failure(status, body if isinstance(body, bytes) else orjson.dumps(body))
    kind = str(error.get("type") or "upstream_error")
    message = str(error.get("message") or kind)
    retryable = status == 429 or status >= 500 or kind in RETRYABLE_TYPES
    return UpstreamFailure(message, status=status, retryable=retryable,
                           body={"message": message, "type": kind, "param": "", "code": kind})


def failure_in_body(data: dict) -> UpstreamFailure:
    error = v if isinstance(v := data.get("error"), dict) else {}
    return anthropic_failure(ERROR_STATUS.get(str(error.get("type")), 500), data)
