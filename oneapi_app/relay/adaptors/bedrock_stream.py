"""AWS Bedrock's wire details shared by its two APIs (bedrock.py): the binary event stream
(``application/vnd.amazon.eventstream``) and the error bodies.

The event stream is read with botocore's ``EventStreamBuffer`` (prelude, headers, payload, both CRC32s
checked), imported only when a Bedrock stream is read. Each message becomes one frame for the decoders:
``<event-type>\\n<payload>`` for an event (``chunk``, ``contentBlockDelta``, ``metadata``...) and
``!<exception-type>\\n<payload>`` for an exception or error message (throttlingException,
modelStreamErrorException...), which the decoders turn into a ``StreamError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from ...errors import UpstreamFailure
from ...i18n import msg
from ...scrub import scrub_text
from ..upstream import status_failure

if TYPE_CHECKING:
    from botocore.eventstream import EventStreamBuffer

# An exception's type (in a stream, or a non-2xx body's x-amzn-ErrorType) -> HTTP status.
EXCEPTION_STATUS = {"throttlingException": 429, "serviceUnavailableException": 503, "internalServerException": 500,
                    "modelStreamErrorException": 502, "validationException": 400, "modelTimeoutException": 408,
                    "modelNotReadyException": 429, "accessDeniedException": 403, "resourceNotFoundException": 404,
                    "serviceQuotaExceededException": 429, "modelErrorException": 424}


class EventStreamReader:
    """Upstream bytes -> one frame per event-stream message (see the module doc)."""

    def __init__(self) -> None:
        from botocore.eventstream import EventStreamBuffer

        self._buffer: EventStreamBuffer = EventStreamBuffer()
        self._pending = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        from botocore.eventstream import ParserError

        self._buffer.add_data(chunk)
        self._pending += len(chunk)
        frames: list[bytes] = []
        try:
            for message in self._buffer:
                self._pending -= message.prelude.total_length
                frames.append(_frame(message.headers, message.payload))
        except ParserError as exc:
            raise broken(type(exc).__name__) from None
        return frames

    def finish(self) -> list[bytes]:
        if self._pending:
            raise broken("the stream ended inside a message")
        return []


def _frame(headers: dict, payload: bytes) -> bytes:
    kind = headers.get(":message-type", "event")
    if kind == "event":
        return f"{headers.get(':event-type', '')}\n".encode() + payload
    if kind == "exception":
        return f"!{headers.get(':exception-type', 'exception')}\n".encode() + payload
    # "error": the code and message travel in headers, the payload is empty
    body = orjson.dumps({"message": str(headers.get(":error-message") or headers.get(":error-code") or kind)})
    return f"!{headers.get(':error-code', 'error')}\n".encode() + body


def split_frame(frame: bytes) -> tuple[str, dict]:
    """A frame -> (its tag, its JSON payload as a dict)."""
    tag, _, payload = frame.partition(b"\n")
    try:
        data = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        raise broken("an event's payload is not JSON") from None
    return tag.decode(errors="replace"), data if isinstance(data, dict) else {}


def broken(detail: str) -> UpstreamFailure:
    return UpstreamFailure(msg("relay.bedrock_stream_broken", detail=detail), status=502, retryable=False,
                           code="unmarshal_response_body_failed", type="one_api_error")


def _message(data: object) -> str:
    if isinstance(data, dict):
        for key in ("message", "Message", "errorMessage"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    return ""


def _failure(status: int, kind: str, message: str) -> UpstreamFailure:
    lowered = message.lower()
    if status in (401, 403) and ("security token" in lowered or "signature" in lowered or "unrecognizedclient"
                                 in kind.lower() or "credential" in lowered):
        error_type = "authentication_error"  # the channel's AK/SK are wrong: the channel is disabled
    elif status == 403:
        error_type = "permission_error"
    else:
        error_type = "upstream_error"
    code = kind[:1].lower() + kind[1:] if kind else str(status)
    return UpstreamFailure(message, status=status, retryable=status in (408, 429) or status >= 500,
                           body={"message": message, "type": error_type, "param": "", "code": code})


def stream_failure(kind: str, data: dict) -> UpstreamFailure:
    """An exception message inside a stream -> UpstreamFailure."""
    status = EXCEPTION_STATUS.get(kind[:1].lower() + kind[1:], 500)
    # secret shapes (an echoed access key id or session token) never reach the client: a stream's failure
    # skips the relay's scrub with the channel's key, which covers answers that fail before streaming
    return _failure(status, kind, scrub_text(_message(data) or kind))


def map_error(status: int, body: bytes) -> UpstreamFailure:
    """A non-2xx Bedrock answer ``{"message": "..."}`` (``Message`` for some exceptions) -> UpstreamFailure;
    403 with a bad key or signature reads as authentication_error (the channel is disabled)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    message = _message(data)
    if not message:
        return status_failure(status, body)
    kind = next((k for k, s in EXCEPTION_STATUS.items() if s == status), "")
    if "security token" in message.lower() or "signature" in message.lower():
        kind = "unrecognizedClientException"
    elif isinstance(data, dict) and isinstance(data.get("__type"), str):
        kind = data["__type"].rsplit("#", 1)[-1]
    return _failure(status, kind, message)
