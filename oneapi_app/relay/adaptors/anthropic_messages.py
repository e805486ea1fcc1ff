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

import orjson

from ...errors import UpstreamFailure
from ..events import Answer, ToolCall
from ..upstream import status_failure
from .base import Usage, try_object
from .chat_blocks import alternate_turns, cache_usage, content_blocks, function_tools, is_number, stop_sequences
from .response_format import JSON_OBJECT_INSTRUCTION, response_format

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


def _text_block(text: str) -> dict:
    return {"type": "text", "text": text}


def _blocks(content: object) -> list[dict]:
    """OpenAI message content -> Anthropic content blocks (empty text dropped: Anthropic refuses it)."""
    return content_blocks(content, _text_block, _image_block)


def _tool_use(call_id: str, name: str, arguments: dict) -> dict:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


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
    system, turns = alternate_turns(messages, blocks=_blocks, tool_use=_tool_use, tool_result=_tool_result)
    for turn in turns:  # one text block reads better (and is smaller) as a plain string
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return "\n\n".join(system), turns


def _tools(tools: object) -> list[dict]:
    return [{**spec, "input_schema": schema} for spec, schema in function_tools(tools)]


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


def convert_request(body: dict, model: str, stream: bool) -> dict:
    """An OpenAI chat completion body -> a Messages API body. ``response_format`` (response_format.py):
    json_schema declares the response tool beside the client's tools and forces it (``tool``), or, with the
    client's own tools, asks for some tool (``any``: the model calls the client's or answers through it);
    json_object adds the instruction to the system prompt."""
    fmt = response_format(body)
    system, messages = convert_messages(body.get("messages") or [])
    if fmt is not None and fmt.kind == "json_object":
        system = f"{system}\n\n{JSON_OBJECT_INSTRUCTION}" if system else JSON_OBJECT_INSTRUCTION
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
    out: dict = {"model": model, "messages": messages, "max_tokens": min(int(max_tokens), MAX_TOKENS_CAP)}
    if system:
        out["system"] = system
    if is_number(body.get("temperature")):
        out["temperature"] = min(max(body["temperature"], 0), 1)  # OpenAI allows up to 2, Anthropic 1
    if is_number(body.get("top_p")):
        out["top_p"] = body["top_p"]
    if isinstance(body.get("top_k"), int) and not isinstance(body["top_k"], bool):
        out["top_k"] = body["top_k"]
    stops = stop_sequences(body.get("stop"))
    if stops is not None:
        out["stop_sequences"] = stops
    tools = _tools(body.get("tools"))
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls")) if tools else None
    if fmt is not None and fmt.kind == "json_schema":
        if not tools or body.get("tool_choice") == "none":
            choice = {"type": "tool", "name": fmt.tool}  # the answer comes through the response tool
        elif choice is None or choice.get("type") not in ("tool", "any"):
            choice = {"type": "any"}  # a client's tool, or the answer through the response tool
        tools.append({"name": fmt.tool, "description": fmt.description, "input_schema": fmt.schema})
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    if stream:
        out["stream"] = True
    return out


# -- response -------------------------------------------------------------------------------------------
def usage_of(data: object) -> Usage | None:
    """Anthropic usage -> Usage: prompt = input + cache reads + cache writes, cached = cache reads."""
    return cache_usage(data, "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def finish_reason(stop_reason: object) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    return FINISH_REASONS.get(stop_reason, "stop")


def answer_of(data: dict, response_tool: str = "") -> Answer:
    """A Messages answer -> the internal Answer (thinking signature kept). The input of ``response_tool``
    (response_format json_schema) is the answer's text: the other text blocks are dropped, and without other
    tool calls it finished with ``stop``."""
    answer_json: str | None = None
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
            if response_tool and block.get("name") == response_tool:
                answer_json = arguments if answer_json is None else answer_json
                continue
            calls.append(ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), arguments))
    finish = finish_reason(data.get("stop_reason")) or "stop"
    if answer_json is not None:
        texts = [answer_json]
        if finish == "tool_calls" and not calls:
            finish = "stop"
    return Answer(id=str(data.get("id") or ""), model=str(data.get("model") or ""), text="".join(texts),
                  reasoning="".join(thinking), reasoning_signature=signature, tool_calls=calls,
                  finish_reason=finish, usage=usage_of(data.get("usage")), created=int(time.time()))


# -- errors ---------------------------------------------------------------------------------------------
def anthropic_failure(status: int, body: bytes | dict) -> UpstreamFailure:
    """An Anthropic error body ``{"type": "error", "error": {"type", "message"}}`` -> UpstreamFailure whose
    OpenAI error object keeps Anthropic's type (so authentication_error/permission_error disable the channel);
    any other body is read the OpenAI way."""
    data = try_object(body) if isinstance(body, bytes) else body
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
