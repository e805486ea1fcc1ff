"""``POST /v1/messages/count_tokens`` (Anthropic's token counting): ``{"input_tokens": n}``, free of charge.

When the model's channel (chosen as the relay would) is an Anthropic one, the upstream counts (the body
passes through with the client's anthropic-version/-beta headers); on any other channel, or when that call
fails, the gateway counts locally (tiktoken, off the event loop). Errors answer in Anthropic's envelope.
The call takes its share of the token's and user's per-minute request limits and concurrency, not of their
tokens per minute (relay/limits.py ``Limiter.counting``): a refusal is the relay's 429, in Anthropic's envelope.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..catalog.channel_types import channel_type
from ..errors import AppError
from ..middleware import request_id
from .adaptors.anthropic import API_VERSION, messages_url
from .adaptors.base import Target
from .auth import authenticate, check_model_allowed
from .client import read_body
from .dialects.messages import MESSAGES
from .pipeline import parse_body
from .retry import check_model_known, choose_channel
from .upstream import MB, NETWORK_ERRORS, UpstreamRequest

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..services.cache import ChannelInfo

log = logging.getLogger(__name__)


async def count_tokens(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        auth = await authenticate(runtime.cache, request)
        raw = await read_body(request, runtime.settings.max_request_body_size * MB)
        body = parse_body(raw)
        model = MESSAGES.read({**body, "max_tokens": 1}, None).model  # count_tokens takes no max_tokens
        snapshot = await runtime.cache.channels()
        if auth.pinned_channel is None:
            check_model_known(snapshot, auth.user.group, model)
        check_model_allowed(auth.token, model)
        async with runtime.limiter.counting(auth.token, auth.user, request_id(request)):  # rate limits
            channel = (snapshot.channels.get(auth.pinned_channel) if auth.pinned_channel is not None
                       else choose_channel(snapshot, auth.user.group, model, set()))
            if channel is not None and channel_type(channel.type).family == "anthropic":
                counted = await _upstream_count(runtime, request, channel, body, raw, model)
                if counted is not None:
                    return Response(counted, media_type="application/json")
            upstream_model = channel.model_mapping.get(model, model) if channel is not None else model
            tokens = await asyncio.to_thread(MESSAGES.count_prompt, body, upstream_model)
    except AppError as exc:
        return Response(orjson.dumps(exc.anthropic_body(request_id(request))), status_code=exc.status,
                        media_type="application/json", headers=exc.headers)
    return Response(orjson.dumps({"input_tokens": tokens}), media_type="application/json")


async def _upstream_count(runtime: Runtime, request: Request, channel: ChannelInfo, body: dict, raw: bytes,
                          model: str) -> bytes | None:
    target = Target(channel.type, channel.base_url, channel.key, channel.config, channel.other,
                    runtime.provider_settings)
    upstream_model = channel.model_mapping.get(model, model)
    data = orjson.dumps({**body, "model": upstream_model}) if upstream_model != model else raw
    headers = {"x-api-key": channel.key, "content-type": "application/json",
               "anthropic-version": request.headers.get("anthropic-version") or API_VERSION}
    if request.headers.get("anthropic-beta"):
        headers["anthropic-beta"] = request.headers["anthropic-beta"]
    url = messages_url(target) + "/count_tokens"
    try:
        resp = await runtime.upstream.send(UpstreamRequest("POST", url, headers, data))
        answer = await resp.read(MB)
    except (AppError, *NETWORK_ERRORS) as exc:
        log.info("count_tokens on channel #%s failed (%s): counted locally", channel.id, type(exc).__name__)
        return None
    if resp.status != 200:
        log.info("count_tokens on channel #%s answered %s: counted locally", channel.id, resp.status)
        return None
    return answer
