"""Gemini ``generateContent`` request bodies -> the internal request form (OpenAI chat). Pure functions.

Google's API takes proto-JSON in both spellings (``systemInstruction`` and ``system_instruction``), so every
field is read under both. ``contents`` become messages (``user`` / ``model`` -> ``assistant``; text,
``inlineData`` images as data URLs, ``functionCall`` -> tool calls, ``functionResponse`` -> tool messages,
paired by id or, when Gemini sent none, by name in order), ``systemInstruction`` the system message,
``functionDeclarations`` chat tools, ``toolConfig`` ``tool_choice`` and ``generationConfig`` the sampling
options and ``response_format``. Thought parts (the model's own thinking) are not sent back.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ...errors import RelayError
from ...i18n import msg

_CAMEL = re.compile(r"([A-Z])")


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` under its camelCase or snake_case spelling."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(_CAMEL.sub(lambda m: "_" + m.group(1).lower(), name))


def _bad(detail: str) -> RelayError:
    return RelayError(msg("gemini.bad_part", detail=detail), status=400, code="invalid_argument")


def lower_types(schema: Any) -> Any:
    """Gemini schemas may spell types in upper case (``OBJECT``); JSON schema wants lower case."""
    if isinstance(schema, list):
        return [lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: lower_types(sub) for name, sub in value.items()}
        else:
            out[key] = lower_types(value)
    return out


def _text(parts: list) -> str:
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
                   and not p.get("thought"))


class _Calls:
    """Tool call ids: Gemini's own when it sent them, else made up and paired with responses by name."""

    def __init__(self) -> None:
        self.count = 0
        self.pending: list[tuple[str, str]] = []  # (name, id) of calls not answered yet

    def call_id(self, call: dict) -> str:
        self.count += 1
        call_id = str(field(call, "id") or f"call_{self.count}")
        self.pending.append((str(call.get("name") or ""), call_id))
        return call_id

    def response_id(self, response: dict) -> str:
        given = field(response, "id")
        name = str(response.get("name") or "")
        for i, (pending_name, pending_id) in enumerate(self.pending):
            if (given and pending_id == given) or (not given and pending_name == name):
                del self.pending[i]
                return pending_id
        return str(given or f"call_{name}")


def _user_parts(parts: list) -> list[dict]:
    out: list[dict] = []
    for part in parts:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            out.append({"type": "text", "text": part["text"]})
            continue
        inline = field(part, "inlineData")
        data = field(part, "fileData")
        if isinstance(inline, dict):
            mime = str(field(inline, "mimeType") or "")
            if mime.startswith("image/"):
                out.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{inline.get('data', '')}"}})
            elif mime.startswith("audio/"):
                out.append({"type": "input_audio", "input_audio": {"data": inline.get("data", ""),
                                                                   "format": mime.removeprefix("audio/")}})
            else:
                out.append({"type": "file", "file": {"file_data": f"data:{mime};base64,{inline.get('data', '')}"}})
        elif isinstance(data, dict) and str(field(data, "mimeType") or "image/").startswith("image/"):
            out.append({"type": "image_url", "image_url": {"url": str(field(data, "fileUri") or "")}})
        else:
            raise _bad(", ".join(sorted(part)) or "{}")
    return out


def convert_contents(contents: list) -> list[dict]:
    messages: list[dict] = []
    calls = _Calls()
    for content in contents:
        if not isinstance(content, dict):
            raise RelayError(msg("gemini.contents_required"), status=400, code="invalid_argument")
        parts = content.get("parts") or []
        if not isinstance(parts, list):
            raise _bad("parts")
        role = content.get("role") or "user"
        if role == "model":
            tool_calls = []
            for part in parts:
                call = field(part, "functionCall") if isinstance(part, dict) else None
                if isinstance(call, dict):
                    tool_calls.append({"id": calls.call_id(call), "type": "function",
                                       "function": {"name": str(call.get("name") or ""),
                                                    "arguments": orjson.dumps(call.get("args") or {}).decode()}})
            message: dict = {"role": "assistant", "content": _text(parts) or (None if tool_calls else "")}
            if tool_calls:
                message["tool_calls"] = tool_calls
            messages.append(message)
            continue
        rest = []
        for part in parts:
            response = field(part, "functionResponse") if isinstance(part, dict) else None
            if isinstance(response, dict):
                result = response.get("response")
                text = result if isinstance(result, str) else orjson.dumps(result if result is not None else {}).decode()
                messages.append({"role": "tool", "tool_call_id": calls.response_id(response), "content": text})
            else:
                rest.append(part)
        if rest:
            converted = _user_parts(rest)
            if converted:
                plain = all(p["type"] == "text" for p in converted)
                messages.append({"role": "user", "content": "".join(p["text"] for p in converted) if plain
                                 else converted})
    return messages


def convert_tools(tools: Any) -> list[dict]:
    out = []
    for tool in tools if isinstance(tools, list) else ():
        for declaration in field(tool, "functionDeclarations") or ():
            if not isinstance(declaration, dict):
                continue
            schema = field(declaration, "parametersJsonSchema")
            if schema is None:
                schema = lower_types(declaration.get("parameters")) or {"type": "object", "properties": {}}
            function = {"name": declaration.get("name"), "parameters": schema}
            if declaration.get("description"):
                function["description"] = declaration["description"]
            out.append({"type": "function", "function": function})
    return out


def convert_tool_choice(config: Any) -> Any:
    calling = field(config, "functionCallingConfig")
    mode = str(field(calling, "mode") or "").upper()
    names = field(calling, "allowedFunctionNames") or []
    if mode == "NONE":
        return "none"
    if mode == "ANY":
        if isinstance(names, list) and len(names) == 1:
            return {"type": "function", "function": {"name": names[0]}}
        return "required"
    if mode == "AUTO":
        return "auto"
    return None


def _generation(body: dict, chat: dict) -> None:
    config = field(body, "generationConfig")
    if not isinstance(config, dict):
        return
    for gemini, openai in (("temperature", "temperature"), ("topP", "top_p"), ("maxOutputTokens", "max_tokens"),
                           ("stopSequences", "stop"), ("candidateCount", "n"), ("presencePenalty", "presence_penalty"),
                           ("frequencyPenalty", "frequency_penalty"), ("seed", "seed")):
        value = field(config, gemini)
        if value is not None:
            chat[openai] = value
    schema = field(config, "responseJsonSchema")
    if schema is None and field(config, "responseSchema") is not None:
        schema = lower_types(field(config, "responseSchema"))
    if schema is not None:
        chat["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    elif field(config, "responseMimeType") == "application/json":
        chat["response_format"] = {"type": "json_object"}
    thinking = field(config, "thinkingConfig")
    level = field(thinking, "thinkingLevel")
    if isinstance(level, str) and level:
        chat["reasoning_effort"] = level.lower()


def to_chat(body: dict, stream: bool) -> dict:
    contents = field(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise RelayError(msg("gemini.contents_required"), status=400, code="invalid_argument")
    messages = convert_contents(contents)
    system = field(body, "systemInstruction")
    parts = system.get("parts") if isinstance(system, dict) else None
    if isinstance(parts, list) and _text(parts):
        messages.insert(0, {"role": "system", "content": _text(parts)})
    elif isinstance(system, str) and system:
        messages.insert(0, {"role": "system", "content": system})
    chat: dict = {"messages": messages}
    if stream:
        chat["stream"] = True
    tools = convert_tools(field(body, "tools"))
    if tools:
        chat["tools"] = tools
        choice = convert_tool_choice(field(body, "toolConfig"))
        if choice is not None:
            chat["tool_choice"] = choice
    _generation(body, chat)
    return chat
