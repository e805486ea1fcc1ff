"""OpenAI Responses API request bodies -> the internal request form (OpenAI chat completions). Pure functions.

Used by dialects/responses.py when the chosen channel does not serve /v1/responses itself. Input items
(a string, or ``message`` / ``function_call`` / ``function_call_output`` / ``reasoning`` items with
``input_text`` / ``input_image`` / ``output_text`` content parts) become chat messages, ``instructions`` the
system message, function tools chat tools, ``text.format`` the ``response_format``, ``reasoning.effort``
``reasoning_effort`` and ``max_output_tokens`` ``max_tokens``.

Built-in tools (web search, file search, computer use...) exist only on OpenAI's own Responses API: towards a
chat-only channel they are left out (``convert_tools``), and the model answers without them.
"""

from __future__ import annotations

from typing import Any

from ...errors import RelayError
from ...i18n import Text, msg

ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
# Fields copied as they are from a Responses body into the chat request.
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "stream", "top_logprobs", "service_tier",
         "prompt_cache_key", "safety_identifier")


def bad(message: Text, param: str = "") -> RelayError:
    return RelayError(message, status=400, code="invalid_request_error", param=param)


def _image_url(part: dict) -> dict:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise bad(msg("responses.image_needs_url"), "input")
    image: dict = {"url": url}
    if isinstance(part.get("detail"), str) and part["detail"] != "auto":
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def _parts(content: Any, role: str) -> str | list[dict]:
    """A message's content: a string stays a string; parts become chat parts (text only for the assistant)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad(msg("responses.bad_content"), "input")
    out: list[dict] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
            text = part.get("text")
            if isinstance(text, str):
                out.append({"type": "text", "text": text})
        elif kind == "refusal":
            out.append({"type": "text", "text": str(part.get("refusal") or "")})
        elif kind == "input_image" and role != "assistant":
            out.append(_image_url(part))
        elif kind == "input_file" and isinstance(part.get("file_data"), str) and role != "assistant":
            out.append({"type": "file", "file": {k: part[k] for k in ("file_data", "filename") if k in part}})
        else:
            raise bad(msg("responses.unsupported_part", type=str(kind)), "input")
    if role == "assistant" or all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out) if role == "assistant" or len(out) != 1 else out[0]["text"]
    return out


def _output_text(output: Any) -> str | list[dict]:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return _parts(output, "user")
    return "" if output is None else str(output)


def input_messages(items: Any) -> list[dict]:
    """Responses ``input`` -> chat messages (without the instructions)."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise bad(msg("responses.input_required"), "input")
    messages: list[dict] = []
    for item in items:
        if not isinstance(item, dict):
            raise bad(msg("responses.bad_item"), "input")
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = ROLES.get(str(item.get("role")))
            if role is None:
                raise bad(msg("responses.bad_role", role=str(item.get("role"))), "input")
            messages.append({"role": role, "content": _parts(item.get("content"), role)})
        elif kind == "function_call":
            call = {"id": str(item.get("call_id") or item.get("id") or ""), "type": "function",
                    "function": {"name": str(item.get("name") or ""), "arguments": str(item.get("arguments") or "")}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last is not None and last["role"] == "assistant" and isinstance(last.get("content"), str):
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id") or ""),
                             "content": _output_text(item.get("output"))})
        elif kind == "reasoning":
            continue  # the model's own thinking: a chat upstream has no way to take it back
        else:
            raise bad(msg("responses.unsupported_item", type=str(kind)), "input")
    return messages


def _function_tool(tool: dict) -> dict:
    function: dict = {"name": tool.get("name"),
                      "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        function["description"] = tool["description"]
    if isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def convert_tools(tools: Any) -> list[dict]:
    """Function tools (also those grouped in a ``namespace``) -> chat tools. Built-in tools (web search, file
    search, code interpreter...) and free-form ``custom`` tools exist on OpenAI's Responses API only: a chat
    upstream cannot run them, so they are left out (Codex offers web_search on every turn; refusing it would
    make Codex unusable on any other provider) and the model answers without them."""
    if not isinstance(tools, list):
        return []
    out = []
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            out.append(_function_tool(tool))
        elif kind == "namespace":
            out.extend(_function_tool(inner) for inner in tool.get("tools") or ()
                       if isinstance(inner, dict) and inner.get("type") == "function")
        elif kind is None:
            raise bad(msg("responses.unsupported_tool", type=str(kind)), "tools")
    return out


def convert_tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        return choice.get("mode") or "auto"
    return None


def _response_format(text: Any) -> dict | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def to_chat(body: dict) -> dict:
    """A Responses request body (``previous_response_id`` already expanded into ``input``) -> chat request."""
    messages = input_messages(body.get("input"))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    if not messages:
        raise bad(msg("responses.input_required"), "input")
    chat: dict = {"model": body.get("model"), "messages": messages}
    for name in _SAME:
        if name in body and body[name] is not None:
            chat[name] = body[name]
    if isinstance(body.get("max_output_tokens"), int):
        chat["max_tokens"] = body["max_output_tokens"]
    tools = convert_tools(body.get("tools"))
    if tools:
        chat["tools"] = tools
        choice = convert_tool_choice(body.get("tool_choice"))
        if choice is not None:
            chat["tool_choice"] = choice
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning_effort"] = reasoning["effort"]
    if isinstance(body.get("metadata"), dict) and body["metadata"] and body.get("store") is True:
        chat["metadata"] = body["metadata"]
    return chat


def _replayable(item: object) -> object:
    """An output item as an input item: without the id the gateway (or an upstream) gave it (an upstream
    validates the ids it gets back) and without logprobs; reasoning items keep theirs (they need it)."""
    if not isinstance(item, dict) or item.get("type") not in ("message", "function_call"):
        return item
    out = {k: v for k, v in item.items() if k != "id"}
    if isinstance(out.get("content"), list):
        out["content"] = [{k: v for k, v in part.items() if k != "logprobs"} if isinstance(part, dict) else part
                          for part in out["content"]]
    return out


def replay_items(previous_input: list, previous_output: list) -> list:
    """The input items of a stored response followed by its output items: what a request continuing it
    (``previous_response_id``) puts before its own input. Reasoning items are kept only with their encrypted
    content (an upstream could not read them back otherwise; a chat upstream gets none of them)."""
    return [_replayable(item) for item in [*previous_input, *previous_output]
            if not (isinstance(item, dict) and item.get("type") == "reasoning" and not item.get("encrypted_content"))]


def as_items(value: Any) -> list:
    """A request's ``input`` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []
