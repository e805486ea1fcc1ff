"""Anthropic Messages request -> the internal form (OpenAI chat completions). Pure functions.

- ``system`` (a string or text blocks) becomes the first system message;
- user turns: text, image (base64 -> data URL, url), document (PDF -> a ``file`` part, plain text -> text)
  blocks become content parts; ``tool_result`` blocks become ``tool`` messages (placed before the turn's
  other content, right after the assistant's tool calls, as OpenAI requires);
- assistant turns: text becomes content, ``tool_use`` blocks become ``tool_calls`` (input as JSON text);
  thinking blocks are the upstream's own memory and have no place in another family's request (dropped);
- tools (custom ones; Anthropic's server tools have no equivalent) -> functions, tool_choice -> tool_choice,
  stop_sequences -> stop, metadata.user_id -> user, thinking enabled -> reasoning_effort (by its budget;
  ``adaptive`` thinking, Claude Code's default, asks for nothing a non-reasoning model would refuse);
- ``system`` turns inside ``messages`` (Claude Code's mid-conversation system messages) stay system messages.

``cache_control`` marks, citations settings and other Anthropic-only fields are dropped: they only have a
meaning on an Anthropic channel, where the body passes through untouched.
"""

from __future__ import annotations

import orjson

from ...errors import RelayError
from ...i18n import msg


def _invalid(detail: str) -> RelayError:
    return RelayError(msg("relay.messages_invalid", detail=detail), status=400, code="invalid_request_error",
                      type="invalid_request_error")


def system_text(system: object) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(b["text"] for b in system if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _image_part(source: object) -> dict | None:
    if not isinstance(source, dict):
        return None
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media = str(source.get("media_type") or "image/png")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{source['data']}"}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    return None


def _document_part(block: dict) -> dict | None:
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        title = block.get("title")
        return {"type": "text", "text": f"{title}\n\n{source['data']}" if isinstance(title, str) else source["data"]}
    if kind == "base64" and isinstance(source.get("data"), str):
        media = str(source.get("media_type") or "application/pdf")
        return {"type": "file", "file": {"filename": str(block.get("title") or "document.pdf"),
                                         "file_data": f"data:{media};base64,{source['data']}"}}
    if kind == "content" and isinstance(source.get("content"), list):
        text = system_text(source["content"])
        return {"type": "text", "text": text} if text else None
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "text", "text": source["url"]}
    return None


def _parts(content: object) -> list[dict]:
    """User content blocks (not tool results) -> OpenAI content parts."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    parts: list[dict] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        part: dict | None = None
        if kind == "text" and isinstance(block.get("text"), str):
            part = {"type": "text", "text": block["text"]}
        elif kind == "image":
            part = _image_part(block.get("source"))
        elif kind == "document":
            part = _document_part(block)
        if part is not None:
            parts.append(part)
    return parts


def _simple(parts: list[dict]) -> str | list[dict]:
    """Text-only parts read better (and are accepted by every OpenAI-compatible server) as one string."""
    if all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts) if len(parts) == 1 else "\n".join(p["text"] for p in parts)
    return parts


def _tool_result_content(content: object) -> tuple[str, list[dict]]:
    """-> (the result's text, its other parts: images and documents, which a tool message cannot carry)."""
    if isinstance(content, str):
        return content, []
    if content is None:
        return "", []
    if not isinstance(content, list):
        return orjson.dumps(content).decode(), []
    parts = _parts(content)
    text = "\n".join(p["text"] for p in parts if p.get("type") == "text")
    return text, [p for p in parts if p.get("type") != "text"]


def _user_turn(content: object) -> list[dict]:
    out: list[dict] = []
    rest: list = []
    attached: list[dict] = []  # tool results' images, shown to the model in the user turn that follows
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            result, others = _tool_result_content(block.get("content"))
            if block.get("is_error"):
                result = f"Error: {result}" if result else "Error"
            out.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""), "content": result})
            attached += others
        else:
            rest.append(block)
    parts = attached + _parts(rest if isinstance(content, list) else content)
    if parts:
        out.append({"role": "user", "content": _simple(parts)})
    return out


def _assistant_turn(content: object) -> dict | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind in ("tool_use", "server_tool_use"):
            calls.append({"id": str(block.get("id") or ""), "type": "function",
                          "function": {"name": str(block.get("name") or ""),
                                       "arguments": orjson.dumps(block.get("input") or {}).decode()}})
    if not texts and not calls:
        return None
    message: dict = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(tools: object) -> list[dict]:
    out = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        if tool.get("type") not in (None, "custom"):  # a server tool (web search, bash...): Anthropic's own
            continue
        function: dict = {"name": tool["name"]}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        schema = tool.get("input_schema")
        function["parameters"] = schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: object) -> tuple[object, bool | None]:
    """-> (OpenAI tool_choice or None, parallel_tool_calls or None)."""
    if not isinstance(choice, dict):
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") is True else None
    kind = choice.get("type")
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", None
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}, parallel
    return None, parallel


def _effort(thinking: object) -> str | None:
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    budget = budget if isinstance(budget, int) else 0
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def to_chat(body: dict) -> dict:
    """A Messages request body (validated by the dialect) -> an OpenAI chat completions body."""
    messages: list[dict] = []
    system = system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for turn in body.get("messages") or ():
        if not isinstance(turn, dict):
            raise _invalid("messages: each message must be an object")
        if turn.get("role") == "assistant":
            message = _assistant_turn(turn.get("content"))
            if message is not None:
                messages.append(message)
        elif turn.get("role") == "user":
            messages.extend(_user_turn(turn.get("content")))
        elif turn.get("role") == "system":  # a system message mid-conversation (Claude Code sends them)
            text = system_text(turn.get("content"))
            if text:
                messages.append({"role": "system", "content": text})
        else:
            raise _invalid("messages: role must be 'user', 'assistant' or 'system'")
    out: dict = {"model": body.get("model"), "messages": messages, "max_tokens": body.get("max_tokens")}
    for name in ("temperature", "top_p"):
        if isinstance(body.get(name), int | float) and not isinstance(body.get(name), bool):
            out[name] = body[name]
    stop = body.get("stop_sequences")
    if isinstance(stop, list) and stop:
        out["stop"] = [s for s in stop if isinstance(s, str)]
    tools = _tools(body.get("tools"))
    if tools:
        out["tools"] = tools
        choice, parallel = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            out["tool_choice"] = choice
        if parallel is not None:
            out["parallel_tool_calls"] = parallel
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str) and len(metadata["user_id"]) <= 64:
        out["user"] = metadata["user_id"]  # (a longer id, e.g. Claude Code's JSON, is refused by OpenAI)
    effort = _effort(body.get("thinking"))
    if effort is not None:
        out["reasoning_effort"] = effort
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def prompt_text(body: dict) -> tuple[list[str], int]:
    """(every text of the prompt, count of messages): what the local count counts (tools as their JSON)."""
    texts = [system_text(body.get("system"))]
    turns = 0
    for turn in body.get("messages") or ():
        if not isinstance(turn, dict):
            continue
        turns += 1
        content = turn.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif isinstance(block.get("thinking"), str):
                texts.append(block["thinking"])
            elif block.get("type") in ("tool_use", "server_tool_use"):
                texts.append(orjson.dumps(block.get("input") or {}).decode())
            elif block.get("type") == "tool_result":
                result = block.get("content")
                texts.append(result if isinstance(result, str) else system_text(result))
    if isinstance(body.get("tools"), list):
        texts.append(orjson.dumps(body["tools"]).decode())
    return texts, turns
