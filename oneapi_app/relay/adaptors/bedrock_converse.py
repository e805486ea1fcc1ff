"""OpenAI chat <-> AWS Bedrock Converse API (pure functions and the stream decoder, used by bedrock.py).

Converse is Bedrock's one message format for every model family (Llama, Mistral, Nova, Cohere, DeepSeek...):
``POST /model/{modelId}/converse`` and ``/converse-stream``.

Request: system/developer messages become ``system`` text blocks; user content parts become ``text`` and
``image`` blocks (images as base64 bytes: Converse takes no URLs); assistant ``tool_calls`` become ``toolUse``
blocks and ``tool`` messages ``toolResult`` blocks of a user turn; consecutive turns of one role are merged
(Converse requires alternating roles). max_tokens/temperature/top_p/stop go to ``inferenceConfig``; tools to
``toolConfig``; ``reasoning_effort`` to Nova's ``reasoningConfig``.

Answer: ``output.message.content`` (text, toolUse, reasoningContent) -> ``Answer``; ``usage`` (inputTokens,
outputTokens, cacheReadInputTokens, cacheWriteInputTokens) -> ``Usage`` where prompt tokens count the cached
input too. Stream: the event-stream messages (see bedrock.py's frame reader) -> typed events.

``response_format`` (Converse has no JSON mode of its own):

- ``json_schema``: one more tool, the *response tool*, whose ``inputSchema`` is the schema (named after the
  schema, ``json_response`` when it has no name), is forced with ``toolChoice {"tool": {"name": ...}}``; the
  input the model gives it comes back as the assistant message's text -- the JSON the client asked for, not a
  tool call -- whole and streamed, with finish reason ``stop``. Text the model writes beside it is dropped
  (a stream holds text until it knows whether the response tool comes).
- with the client's own ``tools``: they are declared beside the response tool (renamed if a client tool has
  its name) and ``toolChoice`` is ``any`` -- the model either calls the client's tools (tool calls, as
  usual, for an agent loop) or answers through the response tool; a ``tool_choice`` naming a function is
  kept, ``none`` forces the response tool. (Bedrock accepts ``any``/``tool`` for the models that take a tool
  choice -- Anthropic, Mistral Large, Nova; others answer the validation error.)
- ``json_object``: a system instruction to answer with one JSON object only.
- ``text`` (or none): nothing changes; any other value is a 400.
"""

from __future__ import annotations

import uuid

import orjson

from ...errors import RelayError
from ...i18n import msg
from ..events import (
    Answer,
    Event,
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from .bedrock_stream import split_frame, stream_failure
from .chat_blocks import (
    alternate_turns,
    cache_usage,
    content_blocks,
    function_tools,
    is_number,
    stop_sequences,
    text_of,
)
from .response_format import JSON_OBJECT_INSTRUCTION, response_format

FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
                  "model_context_window_exceeded": "length"}
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
# reasoning_effort -> Nova 2's reasoningConfig.maxReasoningEffort
NOVA_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


# -- request --------------------------------------------------------------------------------------------
def _bad_image() -> RelayError:
    return RelayError(msg("relay.bedrock_image_url"), status=400, code="convert_request_failed")


def _image(part: dict) -> dict:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise _bad_image()
    header, _, data = url.partition(",")
    fmt = IMAGE_FORMATS.get(header[5:].split(";")[0].lower())
    if fmt is None:
        raise _bad_image()
    # In Converse's JSON form the image bytes travel base64-encoded: the data URL's payload as it is.
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _text_block(text: str) -> dict:
    return {"text": text}


def _blocks(content: object) -> list[dict]:
    return content_blocks(content, _text_block, _image)


def _tool_use(call_id: str, name: str, arguments: dict) -> dict:
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}


def _tool_result(message: dict) -> dict:
    content = message.get("content")
    parts: list[dict]
    if isinstance(content, list):
        parts = [{"text": t} for t in (text_of(content),) if t]
    elif isinstance(content, str):
        parts = [{"text": content}] if content else []
    elif content is not None:
        parts = [{"json": content}] if isinstance(content, dict) else [{"text": orjson.dumps(content).decode()}]
    else:
        parts = []
    return {"toolResult": {"toolUseId": str(message.get("tool_call_id") or ""), "content": parts or [{"text": ""}]}}


def convert_messages(messages: list) -> tuple[list[dict], list[dict]]:
    """(system blocks, Converse messages with alternating roles)."""
    system, turns = alternate_turns(messages, blocks=_blocks, tool_use=_tool_use, tool_result=_tool_result,
                                    tool_roles=("tool", "function"))
    return [{"text": text} for text in system], turns


def _tools(tools: object) -> list[dict]:
    return [{"toolSpec": {**spec, "inputSchema": {"json": schema}}} for spec, schema in function_tools(tools)]


def _tool_choice(choice: object) -> dict | None:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        return {"tool": {"name": choice["function"]["name"]}}
    return None  # "none" has no Converse form (see convert_request)


def _has_tool_blocks(messages: list[dict]) -> bool:
    return any("toolUse" in block or "toolResult" in block for m in messages for block in m["content"])


def convert_request(body: dict, model_id: str) -> dict:
    """An OpenAI chat completion body -> a Converse request body (the model id goes in the URL)."""
    fmt = response_format(body)
    system, messages = convert_messages(body.get("messages") or [])
    if fmt is not None and fmt.kind == "json_object":
        system.append({"text": JSON_OBJECT_INSTRUCTION})
    out: dict = {"messages": messages}
    if system:
        out["system"] = system
    config: dict = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        config["maxTokens"] = max_tokens
    if is_number(body.get("temperature")):
        config["temperature"] = body["temperature"]
    if is_number(body.get("top_p")):
        config["topP"] = body["top_p"]
    stops = stop_sequences(body.get("stop"))
    if stops is not None:
        config["stopSequences"] = stops
    if config:
        out["inferenceConfig"] = config
    tools = _tools(body.get("tools"))
    if tools and body.get("tool_choice") == "none" and not _has_tool_blocks(messages):
        tools = []  # Converse has no "none": no tools declared is the same (unless the history has tool blocks)
    choice = _tool_choice(body.get("tool_choice")) if tools else None
    if fmt is not None and fmt.kind == "json_schema":
        if not tools or body.get("tool_choice") == "none":
            choice = {"tool": {"name": fmt.tool}}  # the answer comes through the response tool
        elif choice is None or "tool" not in choice:
            choice = {"any": {}}  # a client's tool, or the answer through the response tool
        tools.append({"toolSpec": {"name": fmt.tool, "description": fmt.description,
                                   "inputSchema": {"json": fmt.schema}}})
    if tools:
        tool_config: dict = {"tools": tools}
        if choice is not None:
            tool_config["toolChoice"] = choice
        out["toolConfig"] = tool_config
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in NOVA_EFFORT and ".nova-" in f".{model_id}":
        out["additionalModelRequestFields"] = {
            "reasoningConfig": {"type": "enabled", "maxReasoningEffort": NOVA_EFFORT[effort]}}
    return out


# -- answer ---------------------------------------------------------------------------------------------
def usage_of(data: object) -> Usage | None:
    """Converse usage -> Usage: prompt = input + cache reads + cache writes (Converse reports inputTokens
    without them), cached = cache reads, cache_creation = cache writes."""
    return cache_usage(data, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")


def finish_reason(stop_reason: object) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def parse_answer(data: dict, model: str, response_tool: str = "") -> Answer:
    """A Converse answer -> Answer. The input of ``response_tool`` (response_format json_schema) is the
    answer's text: the other text blocks are dropped, and without other tool calls it finished with ``stop``."""
    output = data.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    texts: list[str] = []
    reasoning: list[str] = []
    signature = ""
    calls: list[ToolCall] = []
    answer_json: str | None = None
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            if response_tool and use.get("name") == response_tool:
                if answer_json is None:
                    answer_json = orjson.dumps(use.get("input") if use.get("input") is not None else {}).decode()
                continue
            calls.append(ToolCall(str(use.get("toolUseId") or ""), str(use.get("name") or ""),
                                  orjson.dumps(use.get("input") if use.get("input") is not None else {}).decode()))
        elif isinstance(block.get("reasoningContent"), dict):
            text = block["reasoningContent"].get("reasoningText")
            if isinstance(text, dict):
                reasoning.append(str(text.get("text") or ""))
                signature = str(text.get("signature") or signature)
    finish = finish_reason(data.get("stopReason"))
    if answer_json is not None:
        texts = [answer_json]
        if finish == "tool_calls" and not calls:
            finish = "stop"
    return Answer(id=new_id(), model=model, text="".join(texts), reasoning="".join(reasoning),
                  reasoning_signature=signature, tool_calls=calls, finish_reason=finish,
                  usage=usage_of(data.get("usage")))


# -- stream ---------------------------------------------------------------------------------------------
class ConverseDecoder:
    """ConverseStream events (frames of bedrock_stream.EventStreamReader: event type + JSON payload) -> typed
    events; an exception message becomes a ``StreamError``. ``messageStop`` brings the stop reason and
    ``metadata`` the usage after it: the ``Finish`` is held until the usage came (or the stream ended), so every
    client format gets its usage with its last event.

    With a ``response_tool`` (response_format json_schema), that tool's input arrives as text deltas (not a
    tool call); text the model writes is held until it is known whether the response tool comes (then the
    text is dropped: the answer is the JSON), and given at the end when it never came."""

    def __init__(self, model: str, response_tool: str = "") -> None:
        self.model = model
        self.response_tool = response_tool
        self._started = False
        self._tools: dict[int, int] = {}  # contentBlockIndex -> tool call index
        self._json_block: int | None = None  # contentBlockIndex of the response tool's use
        self._held: list[str] = []  # text while the response tool may still come
        self._finish: str | None = None
        self._finished = False

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [Start(id=new_id(), model=self.model)]

    def feed_event(self, kind: str, data: dict) -> list[Event]:
        events = self._start()
        if kind == "contentBlockDelta":
            delta = data.get("delta")
            if not isinstance(delta, dict):
                return events
            if isinstance(delta.get("text"), str):
                if delta["text"] and self.response_tool:
                    if self._json_block is None:
                        self._held.append(delta["text"])
                elif delta["text"]:
                    events.append(TextDelta(delta["text"]))
            elif isinstance(delta.get("toolUse"), dict):
                partial = delta["toolUse"].get("input")
                if self._json_block is not None and data.get("contentBlockIndex", -1) == self._json_block:
                    if isinstance(partial, str) and partial:
                        events.append(TextDelta(partial))
                    return events
                index = self._tool_index(data)
                if isinstance(partial, str) and partial:
                    events.append(ToolCallDelta(index, arguments=partial))
            elif isinstance(delta.get("reasoningContent"), dict):
                reasoning = delta["reasoningContent"]
                text, signature = reasoning.get("text"), reasoning.get("signature")
                if isinstance(text, str) and text or isinstance(signature, str) and signature:
                    events.append(ReasoningDelta(text if isinstance(text, str) else "",
                                                 signature if isinstance(signature, str) else ""))
        elif kind == "contentBlockStart":
            start = data.get("start")
            use = start.get("toolUse") if isinstance(start, dict) else None
            if isinstance(use, dict) and self.response_tool and use.get("name") == self.response_tool:
                if self._json_block is None:  # the answer: its input streams as text, held text is dropped
                    self._json_block = data.get("contentBlockIndex", -1)
                    self._held = []
            elif isinstance(use, dict):
                index = self._tool_index(data)
                events.append(ToolCallDelta(index, id=str(use.get("toolUseId") or ""), name=str(use.get("name") or "")))
        elif kind == "messageStop":
            events += self._release()
            self._finish = finish_reason(data.get("stopReason"))
            if self._json_block is not None and self._finish == "tool_calls" and not self._tools:
                self._finish = "stop"
        elif kind == "metadata":
            usage = usage_of(data.get("usage"))
            if usage is not None:
                events.append(UsageReport(usage))
            events += self._end()
        return events

    def _tool_index(self, data: dict) -> int:
        block = data.get("contentBlockIndex", -1)
        if block not in self._tools:
            self._tools[block] = len(self._tools)
        return self._tools[block]

    def _release(self) -> list[Event]:
        """The held text, when the response tool never came."""
        held, self._held = self._held, []
        return [TextDelta("".join(held))] if held else []

    def _end(self) -> list[Event]:
        if self._finished or self._finish is None:
            return []
        self._finished = True
        return [Finish(self._finish)]

    def feed(self, frame: bytes) -> list[Event]:
        tag, data = split_frame(frame)
        if tag.startswith("!"):
            return [StreamError(stream_failure(tag[1:], data))]
        return self.feed_event(tag, data)

    def finish(self) -> list[Event]:
        return self._release() + self._end()

