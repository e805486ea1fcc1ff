"""Large non-stream answers streamed through instead of buffered.

An answer the client gets byte for byte (the OpenAI family: no conversion) is read into memory only up to
``STREAM_THROUGH_AT``; a larger one (long completions with logprobs, many embeddings, an upstream that never
ends) is sent on chunk by chunk as it arrives, so the relay's memory stays bounded whatever the size.

Billing needs the ``usage`` object, which OpenAI-style bodies put at their end (after ``choices`` or
``data``). The choice here: keep only the last ``TAIL`` bytes of the body and read ``usage`` from them
when the answer ends. When it is not found there (or the answer broke off, or the client left), the request
is settled the way an answer without usage is: the prompt counted locally, nothing for the completion, and
the log row marked as estimated. Parsing the whole body as it streams would cost a JSON parser per byte for
the rare case where an upstream puts usage first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import orjson

from .adaptors.base import Adaptor, Usage
from .streaming import SSEResponse
from .upstream import NETWORK_ERRORS, UpstreamResponse

log = logging.getLogger(__name__)
STREAM_THROUGH_AT = 1024 * 1024  # bytes of a pass-through answer held before it streams through
TAIL = 64 * 1024  # bytes kept from the end of a streamed-through answer, to read its usage


def passes_through(adaptor: Adaptor) -> bool:
    """True when the client gets the upstream's body unchanged (nothing to convert)."""
    return adaptor.name == "openai"


class Tail:
    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def feed(self, chunk: bytes) -> None:
        data = self.data + chunk if self.data else chunk
        self.data = data[-TAIL:] if len(data) > TAIL else data

    def usage(self) -> Usage | None:
        """The last ``"usage": {...}`` object of the tail, if it is whole."""
        data = self.data
        at = data.rfind(b'"usage"')
        if at < 0:
            return None
        start = data.find(b"{", at)
        if start < 0 or data[at + 7:start].strip() != b":":
            return None
        depth = 0
        for end in range(start, len(data)):
            byte = data[end]
            if byte == 0x7B:
                depth += 1
            elif byte == 0x7D:
                depth -= 1
                if depth == 0:
                    try:
                        return Usage.from_openai(orjson.loads(data[start:end + 1]))
                    except orjson.JSONDecodeError:
                        return None
        return None


def pass_through(resp: UpstreamResponse, head: bytes, settle: Callable[[Usage | None], None]) -> SSEResponse:
    """The answer as a streamed response: ``head`` (already read) then the rest of ``resp`` as it arrives.
    ``settle`` runs once, with the usage found at the end or None (estimated locally)."""
    tail = Tail()
    done = False

    def finish(usage: Usage | None) -> None:
        nonlocal done
        if not done:
            done = True
            settle(usage)

    async def body() -> AsyncIterator[bytes]:
        complete = False
        sent = len(head)
        try:
            tail.feed(head)
            yield head
            async for chunk in resp.chunks():
                tail.feed(chunk)
                sent += len(chunk)
                yield chunk
            complete = True
        except NETWORK_ERRORS as exc:
            log.warning("the upstream broke off an answer after %d bytes (%s)", sent, type(exc).__name__)
            raise ConnectionAbortedError("upstream answer broken off") from None  # the server drops the client
        finally:
            if complete:
                resp.release()
            else:
                resp.close()  # the client left or the upstream broke: drop the upstream connection
            finish(tail.usage() if complete else None)

    def finalize() -> None:  # the body never started (client gone before the first write)
        if not done:
            resp.close()
            finish(None)

    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers]
    return SSEResponse(body(), status=resp.status, finalize=finalize, headers=headers)
