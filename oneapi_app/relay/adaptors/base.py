"""The Adaptor protocol: a provider adaptor is a pure translator between the internal request form (OpenAI
chat completions) and one provider's HTTP API. It builds the upstream request, decodes the provider's answer
and stream into the internal answer form (relay/events.py: ``Answer`` and typed events) and maps error
bodies. It never does I/O and never touches FastAPI objects, so it is tested with JSON fixtures alone.

Two ways through an adaptor (the pipeline picks one per attempt):

- converted: ``call.body`` is the internal form; the answer comes back through ``parse_answer`` /
  ``decoder`` and the client's dialect encodes it. Every adaptor implements this.
- pass-through (``call.native``): the client's dialect speaks the adaptor's family (OpenAI client -> OpenAI
  channel, Anthropic client -> Anthropic channel); ``call.body`` is the client's own body and the answer's
  bytes go back as they came, only usage is read (``parse_response`` / ``stream_translator``, the
  ``PassThrough`` protocol). Kinds other than chat (embeddings, completions...) are OpenAI formats: an adaptor
  that serves them implements ``parse_response`` for them (converting to OpenAI's shape when it must).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import orjson

from ...errors import UpstreamFailure
from ...i18n import Text, msg
from ..events import Answer, EventDecoder, Usage
from ..upstream import UpstreamRequest

__all__ = ["Usage"]  # re-exported: adaptors import it from here

Kind = Literal["chat", "completions", "embeddings", "moderations", "edits"]


def not_supported(message: str | Text) -> UpstreamFailure:
    """A call this channel cannot serve (its type has no adaptor, or its API lacks the endpoint): retryable,
    so another channel of the group may serve it; the client sees the 501 only when none is left."""
    return UpstreamFailure(message, status=501, retryable=True, code="channel_type_not_supported",
                           type="one_api_error")


def not_served(adaptor: Adaptor, target: Target, call: Call, type_name: str) -> UpstreamFailure:
    """The retryable 501 for a call the adaptor has no pass-through half for (``parse_response``): a kind
    other than chat gets the adaptor's own words when its ``build_request`` refuses the kind (e.g. "AWS
    Bedrock channels serve chat completions only, not embeddings"), else that sentence with the type's name."""
    if call.kind == "chat":
        return not_supported(msg("relay.type_not_supported", type=type_name))
    try:
        adaptor.build_request(target, call)
    except UpstreamFailure as refused:
        if refused.status == 501:
            return refused
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return not_supported(msg("relay.cloud_chat_only", provider=type_name, kind=call.kind))


def unreadable_answer(message: str = "the upstream answered a body that is not JSON") -> UpstreamFailure:
    return UpstreamFailure(message, status=502, retryable=True, code="unmarshal_response_body_failed",
                           type="one_api_error")


def load_object(body: bytes) -> dict:
    """An answer's JSON object, or the error of an unreadable answer."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise unreadable_answer() from None
    if not isinstance(data, dict):
        raise unreadable_answer("the upstream answered JSON that is not an object")
    return data


def try_object(body: bytes) -> dict | None:
    """A body's JSON object, or None (empty, not JSON, or JSON of another kind)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """The process settings some adaptors read, built once by the runtime from Settings and handed to them
    in every Target (adaptors hold no state of their own)."""

    gemini_version: str = "v1beta"  # GEMINI_VERSION: default Gemini API version
    gemini_safety_setting: str = ""  # GEMINI_SAFETY_SETTING: threshold for every harm category; "" = Google's


@dataclass(slots=True)
class Target:
    """Where a call goes: one channel's type, base URL, key and type-specific config."""

    channel_type: int
    base_url: str
    key: str = field(repr=False)
    config: dict = field(default_factory=dict, repr=False)  # may hold secrets (AWS sk and session_token...)
    other: str = ""
    provider: ProviderSettings = ProviderSettings()
    credential: str = field(default="", repr=False)  # the result of the adaptor's credentials exchange


@dataclass(slots=True)
class Call:
    """One request, in OpenAI shape, as it should reach the upstream."""

    kind: Kind
    path: str  # the client's path with its query, e.g. /v1/chat/completions
    model: str  # the upstream model (after model_mapping)
    body: dict  # parsed client body, with the gateway's changes applied
    raw: bytes  # the client's bytes, sent as is when ``rewritten`` is False
    rewritten: bool
    stream: bool
    content_type: str = "application/json"
    accept: str = ""
    native: bool = False  # body is in the adaptor family's own wire format (pass-through), not the internal one
    headers: dict[str, str] = field(default_factory=dict)  # client headers to forward (anthropic-version...)


@dataclass(slots=True)
class Parsed:
    """A successful non-stream answer: the bytes for the client, usage if reported, text for local counts."""

    body: bytes
    usage: Usage | None
    text: str = ""
    content_type: str = "application/json"


class StreamTranslator(Protocol):
    """Turns upstream SSE ``data:`` payloads into client events; remembers usage and the delivered text.
    ``done``: the client's stream is complete as sent (nothing to append at the end)."""

    usage: Usage | None
    done: bool

    def feed(self, payload: bytes) -> bytes | None: ...

    # finish: called once when the upstream stream ended normally; events to send before the pipeline's
    # [DONE] (e.g. the usage chunk of a provider that reports usage only in its chunks), or None.
    def finish(self) -> bytes | None: ...

    def text(self) -> str: ...


class RawPassStream(ABC):
    """The frame of a byte-for-byte stream translator (``raw``: the pipeline hands it the upstream's chunks as
    they arrive, no SSE parsing, and sends them back unchanged). The lines a subclass's ``_wants`` finds
    interesting (a byte search) go whole to ``_read`` (usage, final events); until a usage came the chunks are
    kept, compacted to text by ``_take`` (one parsed ``data:`` event at a time) every ``COMPACT_AT`` chunks,
    for a local count. An unfinished line longer than ``MAX_LINE`` is not kept (never an event read here)."""

    __slots__ = ("_chunks", "_pending", "_rest", "_text", "done", "usage")
    raw = True
    COMPACT_AT = 256  # chunks kept before they are reduced to text
    MAX_LINE = 1024 * 1024
    COMPACT_NEEDLE = b""  # only data lines holding these bytes can carry text (b"": any)

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = True  # the upstream's own end ends the client's stream: nothing to append
        self._pending = b""  # an unfinished line (a chunk cut inside an event)
        self._chunks: list[bytes] = []
        self._rest = b""  # the unfinished line of the compacted chunks
        self._text: list[str] = []

    @abstractmethod
    def _wants(self, data: bytes, cut: int) -> bool:
        """Whether the complete lines ``data[:cut]`` may hold what ``_read`` looks for."""

    @abstractmethod
    def _read(self, lines: bytes) -> None:
        """Read the usage (and whatever else the format keeps) from complete lines ``_wants`` picked."""

    @abstractmethod
    def _take(self, event: object) -> None:
        """Keep the text of one ``data:`` event (compaction)."""

    def feed(self, chunk: bytes) -> bytes | None:
        data = self._pending + chunk if self._pending else chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:] if len(data) - cut <= self.MAX_LINE else b""
        if self._wants(data, cut):
            self._read(data[:cut])
        if self.usage is None:
            self._chunks.append(chunk)
            if len(self._chunks) >= self.COMPACT_AT:
                self._compact()
        return chunk

    @staticmethod
    def data_events(lines: Iterable[bytes], *needles: bytes) -> Iterator[object]:
        """The JSON of each ``data:`` line holding one of ``needles`` (any line when none is given)."""
        for line in lines:
            if not line.startswith(b"data:") or needles and not any(needle in line for needle in needles):
                continue
            try:
                yield orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue

    def _compact(self) -> None:
        lines = (self._rest + b"".join(self._chunks)).split(b"\n")
        self._chunks, self._rest = [], lines.pop()
        needle, take = self.COMPACT_NEEDLE, self._take
        for line in lines:
            if not line.startswith(b"data:") or needle and needle not in line:
                continue
            try:
                event = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            take(event)

    def finish(self) -> bytes | None:
        return None

    def text(self) -> str:
        self._compact()
        return "".join(self._text)


class Adaptor(Protocol):
    name: str
    family: str  # "openai", "anthropic", "gemini", "bedrock", ...: the dialect whose format it passes through

    def build_request(self, target: Target, call: Call) -> UpstreamRequest: ...

    def map_error(self, status: int, body: bytes) -> UpstreamFailure: ...

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer: ...

    def decoder(self, call: Call) -> EventDecoder: ...

    def frame_reader(self) -> FrameReader | None: ...


class PassThrough(Protocol):
    """The pass-through half (adaptors of a family a dialect speaks, and those serving non-chat kinds)."""

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed: ...

    def stream_translator(self, call: Call, client_wants_usage: bool) -> StreamTranslator: ...


# -- native providers (issue: every channel type): the converted path ------------------------------------
# A native adaptor (any provider whose wire format is not OpenAI's) implements the Adaptor protocol above
# (``call.body`` is then the internal form, OpenAI chat, whatever the client's format):
#
#   family: str                                    # "anthropic", "gemini", "bedrock", "baidu", ...
#   def parse_answer(self, call, body: bytes, content_type: str) -> events.Answer
#   def decoder(self, call) -> events.EventDecoder  # upstream frames -> typed events
#   def frame_reader(self) -> FrameReader | None    # None: SSE (the one SSEReader, streaming.py)
#
# A decoder reports an upstream error met mid-stream as a ``StreamError`` event (raising UpstreamFailure from
# ``feed`` works too). When the provider needs a credentials exchange (Baidu AK/SK, Vertex service account),
# the adaptor adds the optional
#
#   def credential_request(self, target) -> CredentialRequest | None   # pure: the exchange to make
#
# The pipeline performs that exchange (relay/credentials.py: cached until it expires, one exchange per
# channel key under concurrency) and hands the result to build_request as ``target.credential``.
class FrameReader(Protocol):
    """Upstream byte chunks -> whole frames for the decoder (an adaptor's own stream framing, e.g. AWS's
    binary event stream or newline-delimited JSON)."""

    def feed(self, chunk: bytes) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...


@dataclass(slots=True)
class CredentialRequest:
    """A credentials exchange an adaptor asks for: the request to send and how to read its answer.
    ``cache_key`` identifies the credential (e.g. the channel key's hash); ``parse`` returns the credential
    and its lifetime in seconds."""

    cache_key: str
    request: UpstreamRequest
    parse: Callable[[bytes], tuple[str, float]]


# -- image generation on native channels (/v1/images/generations) -----------------------------------------
@dataclass(frozen=True, slots=True)
class ImageCall:
    """An OpenAI image generation request, validated (relay/media_rules.py), for the upstream ``model``."""

    model: str
    prompt: str
    n: int = 1
    size: str = "1024x1024"
    quality: str = ""
    response_format: str = "url"  # or "b64_json" (the relay downloads the images the upstream gives as URLs)
    body: dict = field(default_factory=dict)  # the client's fields, for provider-specific extras


@dataclass(slots=True)
class ImageStep:
    """What an image answer says: the images when finished (OpenAI's ``data`` items: ``url`` or ``b64_json``),
    or, for an asynchronous task not finished yet, the request that asks again and how long to wait first."""

    images: list[dict] = field(default_factory=list)
    poll: UpstreamRequest | None = None
    wait: float = 0.0
    cancel: UpstreamRequest | None = None  # stops the running task upstream (sent if the request fails)


class ImageMaker(Protocol):
    """The optional image half of an adaptor whose provider generates images with its own API (Replicate's
    predictions, DashScope's text2image tasks). relay/media.py sends ``build_image_request``, reads each
    answer through ``parse_image_answer`` (polling while it says so) and answers OpenAI's images response;
    billing is One API's image pricing (relay/media_rules.py). ``check_image`` refuses, before anything is
    reserved, what the provider cannot do (a RelayError 400). ``split_image`` says how the request's ``n``
    images are made: one call (``[image]``: the provider takes ``n``, as DashScope does) or several calls made
    concurrently whose images are joined in order (Replicate: ``n`` one-image predictions)."""

    def check_image(self, image: ImageCall) -> None: ...

    def split_image(self, image: ImageCall) -> list[ImageCall]: ...

    def build_image_request(self, target: Target, image: ImageCall) -> UpstreamRequest: ...

    def parse_image_answer(self, target: Target, image: ImageCall, body: bytes) -> ImageStep: ...

    def map_error(self, status: int, body: bytes) -> UpstreamFailure: ...
