"""OpenAI chat -> block-based message APIs: the pieces Anthropic Messages (anthropic_messages.py) and Bedrock
Converse (bedrock_converse.py) share. Each API has its own block shapes (the callers pass builders for them);
the walk is the same: system/developer messages lifted out, content parts to blocks, assistant ``tool_calls``
to tool-use blocks, ``tool`` messages to tool-result blocks of a user turn, consecutive turns of one role
merged (both APIs require alternating roles).

Pure: no I/O, no app state.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import TypeGuard

import orjson

from ..events import Usage

Block = dict
ToolUse = Callable[[str, str, dict], Block]  # (call id, function name, input) -> a tool-use block


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def int_of(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    return int(value) if is_number(value) else 0


def text_of(content: object) -> str:
    """The text of a string or a list of content parts (non-text and empty parts ignored), lines joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part["text"] for part in content
                         if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"])
    return ""


def tool_input(arguments: object) -> dict:
    """A tool call's ``arguments`` (a JSON text, or already an object) -> an object ({} when unreadable)."""
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str) and arguments.strip():
        try:
            value = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def content_blocks(content: object, text_block: Callable[[str], Block],
                   image_block: Callable[[dict], Block | None]) -> list[Block]:
    """OpenAI message content -> blocks: text parts through ``text_block`` (empty text dropped: both APIs
    refuse it), ``image_url`` parts through ``image_block`` (None: left out)."""
    if isinstance(content, str):
        return [text_block(content)] if content else []
    blocks: list[Block] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, str):
            part = {"type": "text", "text": part}
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text") and isinstance(part.get("text"), str) and part["text"]:
            blocks.append(text_block(part["text"]))
        elif kind == "image_url":
            image = image_block(part)
            if image is not None:
                blocks.append(image)
    return blocks


def _assistant_blocks(message: dict, blocks: list[Block], tool_use: ToolUse) -> list[Block]:
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            blocks.append(tool_use(str(call.get("id") or ""), str(function.get("name") or ""),
                                   tool_input(function.get("arguments"))))
    return blocks


def alternate_turns(messages: list, *, blocks: Callable[[object], list[Block]], tool_use: ToolUse,
                    tool_result: Callable[[dict], Block],
                    tool_roles: Collection[str] = ("tool",)) -> tuple[list[str], list[dict]]:
    """(the system texts, ``{"role", "content": blocks}`` turns with alternating roles). ``blocks`` converts
    a message's content; messages of a role in ``tool_roles`` become one ``tool_result`` block of a user turn."""
    system: list[str] = []
    turns: list[dict] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            text = text_of(message.get("content"))
            if text:
                system.append(text)
            continue
        if role == "assistant":
            found = _assistant_blocks(message, blocks(message.get("content")), tool_use)
        elif role in tool_roles:
            role, found = "user", [tool_result(message)]
        else:
            role, found = "user", blocks(message.get("content"))
        if not found:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(found)
        else:
            turns.append({"role": role, "content": found})
    return system, turns


def function_tools(tools: object) -> Iterator[tuple[dict, dict]]:
    """({name, description when there is one}, JSON schema of the parameters: an empty object schema when
    there is none) of each named function tool."""
    for tool in tools if isinstance(tools, list) else ():
        is_function = isinstance(tool, dict) and tool.get("type", "function") == "function"
        function = tool.get("function") if is_function else None
        if not isinstance(function, dict) or not function.get("name"):
            continue
        spec = {"name": function["name"]}
        if function.get("description"):
            spec["description"] = function["description"]
        schema = function.get("parameters")
        yield spec, schema if isinstance(schema, dict) and schema else {"type": "object", "properties": {}}


def stop_sequences(stop: object) -> list[str] | None:
    """OpenAI's ``stop`` (a string or a list) as a list of sequences; None when it is not given."""
    if isinstance(stop, str) and stop:
        return [stop]
    if isinstance(stop, list) and stop:
        return [s for s in stop if isinstance(s, str) and s]
    return None


def cache_usage(data: object, fresh: str, output: str, read: str, written: str) -> Usage | None:
    """A usage object that reports the cached input apart (under the keys ``read`` and ``written``) -> Usage:
    prompt = fresh input + cache reads + cache writes, cached = cache reads, cache_creation = cache writes."""
    if not isinstance(data, dict):
        return None
    cached, creation = int_of(data, read), int_of(data, written)
    prompt = int_of(data, fresh) + cached + creation
    completion = int_of(data, output)
    if prompt == 0 and completion == 0:
        return None
    return Usage(prompt, completion, cached, cache_creation_tokens=creation)
