"""OpenAI request shapes -> Google Gemini (Generative Language API) request bodies. Pure functions.

Used by adaptors/gemini.py. Chat: messages -> ``contents`` (+ ``systemInstruction``), tools ->
``functionDeclarations``, tool_choice -> ``toolConfig``, sampling options -> ``generationConfig``.
Embeddings: ``input`` -> ``batchEmbedContents`` requests.

Safety settings are left to Google's defaults unless the operator sets GEMINI_SAFETY_SETTING (then that
threshold is sent for every harm category): the gateway does not silently weaken a provider's filters, and
a BLOCK_NONE some accounts may not use would fail every request.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson

from ...errors import RelayError
from ...i18n import Text, msg

# JSON-schema keywords the Gemini Schema object (an OpenAPI 3 subset) rejects.
_SCHEMA_DROP = frozenset({
    "additionalProperties", "$schema", "$id", "$ref", "$defs", "$comment", "definitions", "examples", "const",
    "strict", "patternProperties", "unevaluatedProperties", "exclusiveMinimum", "exclusiveMaximum",
    "dependencies", "dependentSchemas", "dependentRequired", "if", "then", "else", "not", "readOnly",
    "writeOnly", "contentMediaType", "contentEncoding", "propertyNames", "uniqueItems", "multipleOf",
})
_STRING_FORMATS = frozenset({"enum", "date-time"})  # the only string formats Gemini accepts
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "aac": "audio/aac",
               "ogg": "audio/ogg", "pcm16": "audio/pcm"}


def _bad(message: Text) -> RelayError:
    return RelayError(message, status=400, code="convert_request_failed")


# -- JSON schema ----------------------------------------------------------------------------------------
def clean_schema(schema: Any) -> Any:
    """A copy of ``schema`` without the keywords Gemini rejects; ``type: [T, "null"]`` -> T + nullable."""
    if isinstance(schema, list):
        return [clean_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict = {}
    for key, value in schema.items():
        if key in _SCHEMA_DROP:
            continue
        if key == "properties" and isinstance(value, dict):  # keys here are property names, not keywords
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out[key] = types[0] if types else "string"
            if len(types) < len(value):
                out["nullable"] = True
        elif key == "format" and schema.get("type") == "string" and value not in _STRING_FORMATS:
            continue
        else:
            out[key] = clean_schema(value)
    return out


# -- messages -------------------------------------------------------------------------------------------
def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict)
                       and p.get("type") in ("text", "input_text") and isinstance(p.get("text"), str))
    return "" if content is None else str(content)


def _image_part(url: str) -> dict:
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        if not sep or ";base64" not in header:
            raise _bad(msg("relay.gemini_data_url"))
        return {"inlineData": {"mimeType": header.split(";")[0] or "image/jpeg", "data": data}}
    if url.startswith(("http://", "https://", "gs://")):
        guessed = mimetypes.guess_type(url.split("?")[0])[0]
        return {"fileData": {"mimeType": guessed or "image/jpeg", "fileUri": url}}
    raise _bad(msg("relay.gemini_image_url"))


def content_parts(content: Any) -> list[dict]:
    """OpenAI message content (string or parts) -> Gemini parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        return [{"text": str(content)}]
    parts: list[dict] = []
    for part in content:
        if isinstance(part, str):
            parts.append({"text": part})
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text") and isinstance(part.get("text"), str):
            if part["text"]:
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                parts.append(_image_part(url))
        elif kind == "input_audio" and isinstance(part.get("input_audio"), dict):
            audio = part["input_audio"]
            mime = _AUDIO_MIME.get(str(audio.get("format") or "wav"), "audio/wav")
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data", "")}})
    return parts


def _arguments(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _bad(msg("relay.gemini_arguments")) from None
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {}


def _tool_response(content: Any) -> dict:
    text = _text_of(content)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = text
    return value if isinstance(value, dict) else {"content": value}


def convert_messages(messages: list) -> tuple[dict | None, list[dict]]:
    """-> (systemInstruction or None, contents). Consecutive contents of one role are merged."""
    system: list[dict] = []
    contents: list[dict] = []
    names: dict[str, str] = {}  # tool call id -> function name (for the tool results)
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            text = _text_of(content)
            if text:
                system.append({"text": text})
            continue
        if role == "tool" or role == "function":
            call_id = str(message.get("tool_call_id") or "")
            name = names.get(call_id) or str(message.get("name") or "")
            parts = [{"functionResponse": {"name": name, "response": _tool_response(content)}}]
            gemini_role = "user"
        elif role == "assistant":
            parts = content_parts(content)
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict):
                    continue
                name = str(function.get("name") or "")
                if call.get("id"):
                    names[str(call["id"])] = name
                parts.append({"functionCall": {"name": name, "args": _arguments(function.get("arguments"))}})
            gemini_role = "model"
        else:
            parts = content_parts(content)
            gemini_role = "user"
        if not parts:
            continue
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": gemini_role, "parts": parts})
    return ({"parts": system} if system else None), contents


# -- tools and options ----------------------------------------------------------------------------------
def convert_tools(tools: Any) -> list[dict]:
    declarations = []
    for tool in tools or ():
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function")
        if not isinstance(function, dict) or not function.get("name"):
            continue
        declaration: dict = {"name": function["name"]}
        if function.get("description"):
            declaration["description"] = function["description"]
        parameters = function.get("parameters")
        # An object with no properties is rejected by Gemini: a function without parameters omits them.
        if isinstance(parameters, dict) and (parameters.get("properties") or parameters.get("type") != "object"):
            declaration["parameters"] = clean_schema(parameters)
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else []


def convert_tool_choice(choice: Any) -> dict | None:
    if choice == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if choice == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if choice == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if name:
            return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    return None


def generation_config(body: dict) -> dict:
    config: dict = {}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"),
                           ("n", "candidateCount"), ("presence_penalty", "presencePenalty"),
                           ("frequency_penalty", "frequencyPenalty"), ("seed", "seed")):
        if body.get(source) is not None:
            config[target] = body[source]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if isinstance(stop, str) and stop:
        config["stopSequences"] = [stop]
    elif isinstance(stop, list) and stop:
        config["stopSequences"] = [s for s in stop if isinstance(s, str)]
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        spec = response_format.get("json_schema")
        if kind == "json_schema" and isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            config["responseSchema"] = clean_schema(spec["schema"])
    return config


HARM_CATEGORIES = ("HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                   "HARM_CATEGORY_DANGEROUS_CONTENT")


def chat_request(body: dict, safety_threshold: str = "") -> dict:
    """An OpenAI chat completion body -> a Gemini generateContent body (stream options are ignored)."""
    system, contents = convert_messages(body.get("messages") or [])
    if not contents:
        raise _bad(msg("relay.gemini_no_message"))
    request: dict = {"contents": contents}
    if system is not None:
        request["systemInstruction"] = system
    tools = convert_tools(body.get("tools"))
    if tools:
        request["tools"] = tools
        tool_config = convert_tool_choice(body.get("tool_choice"))
        if tool_config is not None:
            request["toolConfig"] = tool_config
    config = generation_config(body)
    if config:
        request["generationConfig"] = config
    if safety_threshold:
        request["safetySettings"] = [{"category": c, "threshold": safety_threshold} for c in HARM_CATEGORIES]
    return request


def model_path(model: str) -> str:
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def embeddings_request(body: dict, model: str) -> dict:
    value = body.get("input")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise _bad(msg("relay.gemini_embedding_input"))
    name = model_path(model)
    requests = []
    for text in inputs:
        item: dict = {"model": name, "content": {"parts": [{"text": text}]}}
        if body.get("dimensions"):
            item["outputDimensionality"] = body["dimensions"]
        requests.append(item)
    return {"requests": requests}


GEMINI_BUDGET = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}


def gemini_thinking(body: dict, model: str) -> dict | None:
    """``reasoning_effort`` -> Gemini 2.5's ``thinkingConfig`` (a budget per effort, thoughts included in the
    answer so they reach the client as reasoning); other models have no thinking to configure."""
    effort = body.get("reasoning_effort")
    if not isinstance(effort, str) or effort not in GEMINI_BUDGET or not model.startswith("gemini-2.5"):
        return None
    budget = GEMINI_BUDGET[effort]
    if budget == 0 and "pro" in model:  # 2.5 Pro cannot turn thinking off: its smallest budget
        budget = 128
    return {"thinkingBudget": budget, "includeThoughts": budget > 0}
