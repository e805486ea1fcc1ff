"""OpenAI's ``response_format`` for providers with no JSON mode of their own (Bedrock Converse, Anthropic's
Messages API, and Claude on Bedrock and Vertex): pure, shared by their converters.

- ``json_schema``: one more tool, the *response tool*, whose input schema is the schema (named after the
  schema, ``json_response`` when it has no name; renamed if a client tool has the name), which the converter
  forces; the input the model gives it is the answer's text -- the JSON the client asked for, not a tool call.
- ``json_object``: a system instruction to answer with one JSON object only.
- ``text`` (or none): nothing changes; any other value is a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count

from ...errors import RelayError
from ...i18n import msg
from .chat_blocks import function_tools

# The system instruction of response_format json_object.
JSON_OBJECT_INSTRUCTION = ("Respond with a single valid JSON object and nothing else: no text before or after it, "
                           "no Markdown code fences.")
RESPONSE_TOOL = "json_response"  # the response tool's name when the json_schema has none
RESPONSE_TOOL_DESCRIPTION = ("Respond by calling this tool: its input is your whole answer, in the JSON schema the "
                             "user requires.")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_-]+")  # a tool name is [a-zA-Z0-9_-]{1,64} (Converse, Anthropic)


# -- response_format ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """What a chat body's ``response_format`` asks: ``json_object`` (an instruction) or
    ``json_schema`` (the response tool ``tool`` with this ``schema``)."""

    kind: str
    tool: str = ""
    schema: dict = field(default_factory=dict)
    description: str = ""


def _bad_format() -> RelayError:
    return RelayError(msg("relay.bad_response_format"), status=400, code="invalid_response_format")


def response_format(body: dict) -> ResponseFormat | None:
    """The body's ``response_format``: None for text or none; a 400 when it is not one OpenAI defines."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) and kind == "json_schema" else None
    schema = spec.get("schema", {"type": "object"}) if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(schema, dict):
        raise _bad_format()
    name = _NOT_IN_NAME.sub("_", str(spec.get("name") or ""))[:64] or RESPONSE_TOOL
    taken = {tool["name"] for tool, _ in function_tools(body.get("tools"))}
    if name in taken:  # a client tool has the name: the response tool takes another
        name = next(n for n in (f"{name[:50]}_response{i}" for i in count(1)) if n not in taken)
    description = spec.get("description")
    return ResponseFormat("json_schema", name, schema,
                          description if isinstance(description, str) and description else RESPONSE_TOOL_DESCRIPTION)


def response_tool(body: dict) -> str:
    """The response tool's name for this body ("" when it asks no json_schema)."""
    try:
        fmt = response_format(body)
    except RelayError:
        return ""
    return fmt.tool if fmt is not None else ""
