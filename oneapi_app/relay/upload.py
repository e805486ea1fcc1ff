"""Large multipart uploads (audio files, images to edit) streamed upstream as they arrive.

A body of at most STREAM_UPLOAD_AT bytes (by its Content-Length) is read whole, as every relay body is: it
can be sent again to another channel. A larger one is read only until its ``model`` field is complete and its file began (the
SDKs send their text fields before the file), which is all the relay needs to choose a channel and price
the request; the head read so far and then the rest of the client's body go upstream chunk by chunk, with
the body's own Content-Length, parsed on the way (the fields after the file, ``response_format``) and
bounded by MAX_REQUEST_BODY_SIZE. Once its first bytes left, such an upload cannot be retried on another
channel. A body without a ``model`` field before its end is read whole (bounded) and served like a small one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from ..errors import AppError, ClientGone, RelayError
from ..i18n import msg
from .multipart import FormReader
from .upstream import MB

log = logging.getLogger(__name__)
STREAM_UPLOAD_AT = 1024 * 1024


def too_large(limit: int) -> RelayError:
    return RelayError(msg("relay.body_too_large", mb=limit // MB), status=413, code="request_body_too_large")


@dataclass(slots=True)
class Upload:
    reader: FormReader
    head: bytes  # the bytes read before the channel was chosen (the model field is in them)
    rest: AsyncIterator[bytes] | None  # the client's remaining chunks; None: ``head`` is the whole body
    limit: int
    length: int | None  # the client's Content-Length
    started: bool = False  # bytes went upstream: no retry on another channel
    error: AppError | None = None  # why the stream stopped (too large, not multipart, client gone)

    @property
    def whole(self) -> bool:
        return self.rest is None

    def body(self, head: bytes) -> AsyncIterator[bytes]:
        """``head`` (the possibly rewritten head) then the rest of the client's body, as it arrives."""
        rest = self.rest
        assert rest is not None

        async def chunks() -> AsyncIterator[bytes]:
            self.started = True
            size = len(self.head)
            yield head
            try:
                async for chunk in rest:
                    size += len(chunk)
                    if size > self.limit:
                        raise too_large(self.limit)
                    self.reader.feed(chunk)
                    yield chunk
                self.reader.finish()
            except AppError as exc:
                self.error = exc
                raise
            except ClientDisconnect:
                self.error = ClientGone("the client closed the connection")
                raise

        return chunks()


async def open_upload(request: Request, content_type: str, limit: int, stream_ok: bool) -> Upload:
    """Read the body up to its ``model`` field and the start of its file (or whole, when small, without a model
    field or ``stream_ok`` is False)."""
    reader = FormReader(content_type)
    length_text = request.headers.get("content-length")
    length = int(length_text) if length_text is not None and length_text.isdigit() else None
    if length is not None and length > limit:
        raise too_large(limit)
    small = not stream_ok or (length is not None and length <= STREAM_UPLOAD_AT)
    stream = request.stream().__aiter__()
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            reader.feed(chunk)
            parts.append(chunk)
            if not small and reader.in_file and "model" in reader.form.fields:
                return Upload(reader, b"".join(parts), stream, limit, length)
    except ClientDisconnect:
        log.info("client went away while sending its upload")
        raise ClientGone("the client closed the connection") from None
    reader.finish()
    return Upload(reader, b"".join(parts), None, limit, length)
