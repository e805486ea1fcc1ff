"""The proxy channel (type 43): ``/v1/oneapi/proxy/<channel id>/<rest>`` with any method goes to
``<channel base URL>/<rest>`` (query kept) with the channel's key as ``Authorization``, verbatim, and the
upstream's status, headers and body come back as they are (streamed through).

Unlike One API's proxy (any token, never billed nor logged), only administrators' tokens may use it, and
every call is logged and billed: the channel's config field ``proxy_price`` is the quota one call costs
(default 0: logged, free). The price is reserved through the ledger before the call and charged once the
upstream answered, whatever its status; a call that never reached the upstream is refunded. Like every
relay request it takes its share of the token's and user's rate limits first (``runtime.limiter.check``) and
ends through ``runtime.relay_done`` (released, counted in /metrics under the model "proxy").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AuthError, NoChannel, TokenQuotaExhausted
from ..i18n import msg
from ..middleware import request_id
from ..models import Role
from ..services.cache import TokenInfo, UserInfo
from ..services.ledger import ConsumeLog
from .auth import authenticate
from .client import read_body, until_client_leaves
from .passthrough import STREAM_THROUGH_AT, pass_through
from .retry import pinned_channel
from .upstream import MB, UpstreamRequest

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..services.cache import ChannelInfo
    from .limits import Ticket

PROXY = 43
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Client headers never forwarded: hop-by-hop ones, the length and encoding (the transport sets its own) and
# the gateway key in any of its headers (the channel's key replaces it).
DROP_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "keep-alive", "authorization",
                          "x-api-key", "api-key", "transfer-encoding", "te", "upgrade", "proxy-authorization",
                          "cookie"})


@dataclass(slots=True)
class ProxyCall:
    """What the rate limiter and the metrics read of a proxy call (metrics.Relayed)."""

    token: TokenInfo
    user: UserInfo
    request_id: str
    channel: ChannelInfo | None
    model: str = "proxy"
    started: float = field(default_factory=time.perf_counter)
    limit: Ticket | None = None


def proxy_price(channel: ChannelInfo) -> int:
    value = channel.config.get("proxy_price", 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return 0


async def proxy(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    auth = await authenticate(runtime.cache, request)
    if auth.user.role < Role.ADMIN:
        raise AuthError(msg("proxy.admin_only"), 403)
    raw_id = request.path_params["channel_id"]
    if not raw_id.isdigit():
        raise AuthError(msg("relay.bad_channel_id"), 400)
    channel = pinned_channel(await runtime.cache.channels(), int(raw_id))
    if channel.type != PROXY:
        raise NoChannel(msg("proxy.not_proxy", id=channel.id), 400)
    if not channel.base_url:
        raise NoChannel(msg("proxy.no_base_url", id=channel.id), 400)
    raw = await read_body(request, runtime.settings.max_request_body_size * MB)
    rest = request.path_params.get("rest", "")
    query = request.scope.get("query_string", b"").decode()
    url = channel.base_url.rstrip("/") + "/" + rest + ("?" + query if query else "")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROP_HEADERS}
    headers["Authorization"] = channel.key
    upstream = UpstreamRequest(request.method, url, headers, raw or None)

    created_at, rid = int(time.time()), request_id(request)
    job = ProxyCall(auth.token, auth.user, rid, channel)
    started = job.started
    price = proxy_price(channel)
    await runtime.limiter.check(job)  # the pipeline's rate limits; released by relay_done below
    try:
        hold = await runtime.ledger.reserve(token_id=auth.token.id, unlimited=auth.token.unlimited_quota,
                                            user_id=auth.user.id, amount=price, request_id=rid)
    except BaseException as exc:
        runtime.relay_done(job, 0, 0, 0, False)
        if isinstance(exc, TokenQuotaExhausted):
            await runtime.cache.token(auth.token.key, fresh=True)
        raise
    settled = False

    async def call() -> Response:
        nonlocal settled
        resp = await runtime.upstream.send(upstream)
        limit = runtime.settings.relay_max_response_size * MB
        head, complete = await resp.read_head(min(STREAM_THROUGH_AT, limit))
        entry = ConsumeLog(
            user_id=auth.user.id, username=auth.user.username, token_name=auth.token.name, model_name="proxy",
            channel_id=channel.id, prompt_tokens=0, completion_tokens=0,
            content=f"proxy {request.method} /{rest[:200]} -> {resp.status}，price {price}", request_id=rid,
            elapsed_ms=int((time.perf_counter() - started) * 1000), is_stream=False, system_prompt_reset=False,
            created_at=created_at)
        settlement = runtime.ledger.settle(hold, channel.id, price, entry)
        settled = True
        runtime.relay_done(job, 0, 0, price, True)
        await runtime.ledger.committed(settlement)
        if complete:
            return Response(content=head, status_code=resp.status, headers=dict(resp.headers))
        return pass_through(resp, head, lambda _usage: None)

    try:
        return await until_client_leaves(request, call())
    except BaseException:
        if not settled:
            runtime.ledger.refund(hold)
            runtime.relay_done(job, 0, 0, 0, False)
        raise


PROXY_ROUTES = [("/v1/oneapi/proxy/{channel_id}/{rest:path}", proxy, PROXY_METHODS)]
