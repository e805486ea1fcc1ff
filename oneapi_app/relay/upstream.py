"""The relay's upstream HTTP transport and the one place that maps upstream failures to errors.

The transport is aiohttp directly (measured fastest here; see bench/RESULTS.md): one ClientSession with a
keep-alive pool, created in the runtime's lifespan. Everything else in the appliance uses httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import orjson

from .. import __version__
from ..catalog.auto_disable import disables_channel
from ..errors import UpstreamFailure
from ..i18n import msg
from ..scrub import scrub_text, scrub_value
from ..settings import Settings

USER_AGENT = f"one-api-python/{__version__}"  # one-api sends Go's default; some provider firewalls refuse none

# Response headers never copied to the client (hop-by-hop, or describing the upstream's encoding).
SKIP_RESPONSE_HEADERS = frozenset({
    "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "set-cookie",
    "server", "date", "alt-svc", "strict-transport-security", "x-oneapi-request-id",
})


@dataclass(slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # credentials (Authorization, X-Amz-Security-Token...)
    body: bytes | AsyncIterable[bytes] | None = None  # an iterable streams (a large upload as it arrives)
    # set: a websocket call (relay/ws_upstream.py): ``url`` is ws(s)://, this is the first message sent, and
    # each message received is one chunk of the response
    websocket_message: bytes | None = None
    # set: a call in steps (relay/ws_upstream.py): once this request answered 200/201, ``follow(body)`` gives
    # the next request to send (e.g. Replicate's stream URL from the created prediction), or None to answer
    # with that body
    follow: Callable[[bytes], UpstreamRequest | None] | None = field(default=None, repr=False)


def scrub(failure: UpstreamFailure, key: str, *secrets: str) -> UpstreamFailure:
    """The failure with the channel's key (and the other ``secrets`` given: its config's, such as an AWS
    session token) and secret-shaped text removed (the one rule: oneapi_app/scrub.py)."""
    failure.message = scrub_text(failure.message, key, *secrets)
    if failure.body is not None:  # every field but the error's type and code (identifiers clients match on)
        failure.body = {k: v if k in ("type", "code") else scrub_value(v, key, *secrets)
                        for k, v in failure.body.items()}
    return failure


NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def network_failure(exc: BaseException) -> UpstreamFailure:
    kind = type(exc).__name__
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return UpstreamFailure(msg("relay.upstream_timeout"), status=504, retryable=True, code="do_request_failed",
                               type="one_api_error")
    return UpstreamFailure(msg("relay.upstream_unreachable", kind=kind), status=502, retryable=True, code="do_request_failed",
                           type="one_api_error")


def _first_message(data: dict) -> str:
    def get(obj: object, *path: str) -> object:
        for key in path:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(key)
        return obj

    for path in (("error", "message"), ("message",), ("msg",), ("err",), ("error_msg",), ("header", "message"),
                 ("response", "error", "message")):
        value = get(data, *path)
        if isinstance(value, str) and value:
            return value
    if isinstance(data.get("error"), str) and data["error"]:
        return data["error"]
    return ""


def status_failure(status: int, body: bytes) -> UpstreamFailure:
    """An upstream answer with a non-2xx status (or an error body) as one-api renders it."""
    retryable = status == 429 or status >= 500
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return UpstreamFailure(str(error["message"]), status=status, retryable=retryable, body=error)
        message = _first_message(data)
        if message:
            return UpstreamFailure(message, status=status, retryable=retryable, code="bad_response_status_code",
                                   param=str(status))
    return UpstreamFailure(msg("relay.upstream_status", status=status), status=status, retryable=retryable,
                           code="bad_response_status_code", param=str(status))


def should_disable_channel(failure: UpstreamFailure) -> bool:
    """The auto-disable rules (catalog.auto_disable) applied to a failure; a forwarded error body wins."""
    body = failure.body or {}
    return disables_channel(failure.status, str(body.get("type") or failure.type or ""),
                            str(body.get("code") or failure.code or ""), failure.message)


MB = 1024 * 1024


def too_large(limit: int) -> UpstreamFailure:
    """An answer past RELAY_MAX_RESPONSE_SIZE: a 502, not retried (the request is refunded)."""
    return UpstreamFailure(msg("relay.upstream_too_large", mb=limit // MB),
                           status=502, retryable=False, code="upstream_response_too_large", type="one_api_error")


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    content_type: str
    _resp: aiohttp.ClientResponse = field(repr=False)
    _bell: _Doorbell | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return self._resp.headers.get(name)

    async def read(self, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes (a longer one is dropped: 502 ``too_large``)."""
        body, complete = await self.read_head(limit)
        if not complete:
            self.close()
            raise too_large(limit)
        return body

    async def read_head(self, limit: int) -> tuple[bytes, bool]:
        """Up to about ``limit`` bytes of the body and whether that was all of it. When it was not, the
        connection stays open: the caller reads on with ``chunks()`` or closes it."""
        resp = self._resp
        try:
            length = resp.content_length
            if length is not None and length <= limit and "Content-Encoding" not in resp.headers:
                return await resp.read(), True  # bounded by its length (aiohttp stops there)
            content, size = resp.content, 0
            parts: list[bytes] = []
            while size <= limit:
                chunk = await content.readany()
                if not chunk:
                    resp.release()
                    return b"".join(parts), True
                parts.append(chunk)
                size += len(chunk)
            return b"".join(parts), content.at_eof()
        except NETWORK_ERRORS as exc:
            resp.close()
            raise network_failure(exc) from None
        except BaseException:
            resp.close()  # cancelled (the client went away): drop the connection, never pool a half-read one
            raise

    def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive: aiohttp's own iterator, with no generator of ours around it (this is
        the per-chunk path of every stream). Its network errors are ``NETWORK_ERRORS``: the caller maps
        them with ``network_failure``."""
        return self._resp.content.iter_any()

    async def readany(self) -> bytes:
        """The body bytes that arrived (waiting for some); b"" at its end. Network errors: ``NETWORK_ERRORS``."""
        return await self._resp.content.readany()

    # A push reader (stream_relay.py): the doorbell stands where aiohttp's reader keeps the future a waiting
    # read awaits (``StreamReader._waiter``, set to None before it is resolved). aiohttp resolves that future
    # from its protocol's callback when data, the end or an error arrives: the doorbell schedules the callback
    # right after that one (``call_soon``: never inside aiohttp's parser, which reading re-enters), as the
    # future would wake its task, but with no task step and no coroutine chain to resume. One ring per
    # arming; ``take`` then reads what is buffered without waiting. An aiohttp without that attribute gets
    # no doorbell (``ring`` says False): the stream is then read the ordinary way.
    def ring(self, callback: Callable[[BaseException | None], None]) -> bool:
        content = self._resp.content
        if getattr(content, "_waiter", False) is not None:  # a read is waiting, or the doorbell is armed
            return False
        bell = self._bell
        if bell is None or bell.callback != callback:  # (a bound method is a new object each time it is read)
            bell = self._bell = _Doorbell(callback, asyncio.get_running_loop())
        content._waiter = bell  # type: ignore[assignment]
        return True

    def unring(self) -> None:
        content = self._resp.content
        if type(getattr(content, "_waiter", None)) is _Doorbell:
            content._waiter = None

    def take(self) -> bytes:
        """What is buffered now (b"" when nothing is); raises the error the connection ended with."""
        return self._resp.content.read_nowait(-1)

    def at_eof(self) -> bool:
        return self._resp.content.at_eof()

    def close(self) -> None:
        """Drop the connection at once (a client went away mid-stream)."""
        self._resp.close()

    def release(self) -> None:
        self._resp.release()


class _Doorbell:
    """In place of a waiting read's future in aiohttp's reader (see ``UpstreamResponse.ring``)."""

    __slots__ = ("callback", "loop")

    def __init__(self, callback: Callable[[BaseException | None], None], loop: asyncio.AbstractEventLoop) -> None:
        self.callback = callback
        self.loop = loop

    def done(self) -> bool:
        return False

    def set_result(self, _: object) -> None:
        self.loop.call_soon(self.callback, None)

    def set_exception(self, exc: BaseException) -> None:
        self.loop.call_soon(self.callback, exc)


class Upstream:
    """The shared upstream client. ``send`` returns once the status line and headers arrived."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.relay_timeout or None, sock_connect=10)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300,
                                         enable_cleanup_closed=True)
        # No cookie jar: an upstream's cookies must not be replayed on other tokens' requests (and filtering
        # a jar costs time on every request).
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True,
                                              headers={"User-Agent": USER_AGENT}, trust_env=False,
                                              cookie_jar=aiohttp.DummyCookieJar())

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream client is not started")
        return self._session

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        if self._session is None:
            raise RuntimeError("the upstream client is not started")
        try:
            resp = await self._session.request(request.method, request.url, headers=request.headers,
                                               data=request.body, proxy=self.settings.relay_proxy or None,
                                               allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise network_failure(exc) from None
        headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in SKIP_RESPONSE_HEADERS]
        return UpstreamResponse(resp.status, headers, resp.headers.get("Content-Type", ""), resp)
