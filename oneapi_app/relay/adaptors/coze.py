"""Coze bots (channel type 34, family ``coze``): the chat API v3 (``POST {base}/v3/chat``).

- the model names the bot: ``bot-<bot id>`` (one-api's convention; the prefix is removed);
- the user id is the channel config's ``user_id`` (else the request's ``user``, else ``one-api``);
- the key is a Coze personal access token (``Authorization: Bearer``);
- the conversation goes as ``additional_messages`` (Coze has no system role: system text is sent as a user
  message first);
- the upstream call is always a stream (v3 answers a non-stream call with a chat id to poll): a whole answer
  is that stream read to its end. Events: ``conversation.message.delta`` (answer text, reasoning),
  ``conversation.chat.completed`` (usage: ``input_count``, ``output_count``), ``conversation.chat.failed`` /
  ``error`` (an error event), ``done``.
Errors arrive as ``{"code", "msg"}`` bodies (HTTP 200) and are mapped by code.
"""

from __future__ import annotations

import orjson

from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer, Event, Finish, ReasoningDelta, StreamError, TextDelta, UsageReport
from ..upstream import UpstreamRequest, status_failure
from .base import Call, Target, Usage, try_object, unreadable_answer
from .cn_common import (
    EventSSEReader,
    ProviderDecoder,
    auth_failure,
    base_url,
    failure,
    fold,
    messages_of,
    no_endpoint,
    number,
    split_event,
    text_of,
)

DEFAULT_BASE = "https://api.coze.com"
PROVIDER = "Coze"
DEFAULT_USER = "one-api"


def bot_id(model: str) -> str:
    if not model.startswith("bot-") or len(model) <= 4:
        raise failure(str(msg("relay.coze_bot_model", model=model)), 400, kind="invalid_request_error",
                      code="model_not_found", retryable=False)
    return model[4:]


def user_id(target: Target, body: dict) -> str:
    config = target.config if isinstance(target.config, dict) else {}
    return str(config.get("user_id") or body.get("user") or DEFAULT_USER)


def chat_body(target: Target, call: Call) -> dict:
    messages = []
    for message in messages_of(call.body):
        role = "assistant" if message.get("role") == "assistant" else "user"
        messages.append({"role": role, "content": text_of(message.get("content")), "content_type": "text"})
    return {"bot_id": bot_id(call.model), "user_id": user_id(target, call.body), "stream": True,
            "auto_save_history": False, "additional_messages": messages}


def coze_failure(code: int, message: str) -> UpstreamFailure:
    if code in (4100, 4101, 700012006):
        return auth_failure(message, code)
    if code in (4013, 4019, 4020, 4029):
        return failure(message, 429, code=code)
    if code in (4028, 4027):  # quota / balance used up
        return failure(message, 403, kind="insufficient_quota", code=code, retryable=True)
    if code == 4200:
        return failure(message, 404, kind="invalid_request_error", code=code, retryable=False)
    if 4000 <= code < 5000:
        return failure(message, 400, kind="invalid_request_error", code=code, retryable=False)
    return failure(message, 500, code=code)


def _error(data: dict) -> UpstreamFailure | None:
    code = number(data, "code")
    if code:
        return coze_failure(code, str(data.get("msg") or f"Coze error {code}"))
    last = data.get("last_error")
    if isinstance(last, dict) and number(last, "code"):
        return coze_failure(number(last, "code"), str(last.get("msg") or "Coze chat failed"))
    return None


def usage_of(chat: dict) -> Usage | None:
    found = chat.get("usage")
    if not isinstance(found, dict):
        return None
    prompt, completion = number(found, "input_count"), number(found, "output_count")
    if not prompt and not completion and number(found, "token_count"):
        prompt = number(found, "token_count")
    return Usage(prompt, completion) if prompt or completion else None


class CozeDecoder(ProviderDecoder):
    """Frames ``<event>\\n<data>`` (EventSSEReader) -> events."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.finished = False

    def feed(self, frame: bytes) -> list[Event]:
        event, payload = split_event(frame)
        data = try_object(payload)
        events: list[Event] = []
        if data is not None and event.startswith("conversation."):
            events = self.opening(str(data.get("chat_id") or data.get("id") or ""))
        if event == "conversation.message.delta" and data is not None:
            if data.get("type", "answer") == "answer":
                if data.get("reasoning_content"):
                    events.append(ReasoningDelta(str(data["reasoning_content"])))
                if data.get("content"):
                    events.append(TextDelta(str(data["content"])))
        elif event == "conversation.chat.completed" and data is not None:
            found = usage_of(data)
            if found is not None:
                events.append(UsageReport(found))
            if not self.finished:
                self.finished = True
                events.append(Finish("stop"))
        elif event in ("conversation.chat.failed", "error"):
            failed = _error(data or {}) or failure(payload.decode(errors="replace") or "Coze chat failed", 500)
            events.append(StreamError(failed))
        elif event == "conversation.chat.requires_action":
            events.append(StreamError(failure(str(msg("relay.coze_requires_action")), 400,
                                              kind="invalid_request_error", retryable=False)))
        return events


class CozeAdaptor:
    name = "coze"
    family = "coze"
    models: tuple[str, ...] = ()  # bots are named per channel: bot-<id>

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise no_endpoint(PROVIDER, call.kind)
        headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json",
                   "Accept": "text/event-stream"}
        return UpstreamRequest("POST", f"{base_url(target, DEFAULT_BASE)}/v3/chat", headers,
                               orjson.dumps(chat_body(target, call)))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        data = try_object(body)
        if data is not None:  # a JSON body instead of the stream: an error
            found = _error(data)
            raise found if found is not None else unreadable_answer("Coze answered JSON instead of its event stream")
        reader, decoder = EventSSEReader(), self.decoder(call)
        events: list[Event] = []
        for frame in [*reader.feed(body), *reader.finish()]:
            events += decoder.feed(frame)
        return fold(events, call.model)

    def decoder(self, call: Call) -> CozeDecoder:
        return CozeDecoder(call.model)

    def frame_reader(self) -> EventSSEReader:
        return EventSSEReader()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        data = try_object(body)
        found = _error(data) if data is not None else None
        return found if found is not None else status_failure(status, body)
