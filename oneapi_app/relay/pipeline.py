"""The relay pipeline, one linear path per request:

authenticate -> parse (the client's dialect) -> pick channel -> price -> reserve quota -> convert -> send
(retrying on another channel while nothing reached the client) -> relay (bytes or SSE) -> settle -> log.

The client's format is a dialect (relay/dialects/). When the channel's family is the dialect's, the body and
the answer pass through byte for byte (usage is read); otherwise the body goes to the adaptor in the internal
form (``dialect.to_internal``, once) and the answer comes back as events the dialect encodes.

The client is watched from the reservation on: when it leaves, the upstream call is cancelled (its
connection closed) in every mode. Bodies are bounded both ways: MAX_REQUEST_BODY_SIZE for requests (413),
RELAY_MAX_RESPONSE_SIZE for answers the relay must hold (502); larger OpenAI-format answers stream through
(passthrough.py).

Every way out settles exactly once: success charges the actual cost, any failure before the response
refunds the reservation, a stream settles in its ``finally`` (complete, broken or abandoned by the client).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..catalog.channel_types import channel_type, config_secrets
from ..errors import BodyError, CredentialRevoked, TokenQuotaExhausted, UpstreamFailure, UserQuotaExhausted
from ..i18n import msg
from ..middleware import request_id
from ..services import pricing
from ..services.cache import ChannelInfo, ChannelSnapshot
from ..services.ledger import ConsumeLog, Settlement
from . import token_count, ws_upstream
from .adaptors import adaptor_for
from .adaptors.base import (
    Call,
    FrameReader,
    Kind,
    Parsed,
    PassThrough,
    StreamTranslator,
    Target,
    Usage,
    not_served,
    not_supported,
)
from .auth import authenticate, check_model_allowed
from .client import read_body, until_client_leaves
from .context import RelayContext
from .convert import Converter
from .dialects import chat
from .dialects.base import Dialect
from .passthrough import STREAM_THROUGH_AT, pass_through, passes_through
from .retry import (
    SATURATED_MESSAGE,
    channel_fault,
    check_model_known,
    choose_channel,
    first_channel,
    should_retry,
)
from .stream_relay import RawChunks, UpstreamStream
from .streaming import SSEReader, SSEResponse
from .upstream import MB, NETWORK_ERRORS, network_failure, scrub, should_disable_channel

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)
MAX_TOKENS_LIMIT = chat.MAX_TOKENS_LIMIT
DEFAULT_MODELS = chat.DEFAULT_MODELS
ESTIMATED_MARK = "（usage estimated locally）"
INTERNAL_PATH = "/v1/chat/completions"  # the internal form's path (a converted call to an OpenAI-family channel)
SATURATED_RETRY_AFTER = "1"  # seconds, on our own 429 when every channel of the group answered 429


# -- parse ----------------------------------------------------------------------------------------------
def parse_body(raw: bytes) -> dict:
    if not raw.strip():
        raise BodyError(msg("relay.body_empty"))
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(msg("relay.body_not_json", detail=exc)) from None
    if not isinstance(body, dict):
        raise BodyError(msg("relay.body_not_object"))
    return body


def validate(kind: Kind, body: dict, model: str) -> None:
    """OpenAI's validation of a body of ``kind`` (kept here for callers of the pipeline's old name)."""
    chat.validate(kind, body, model)


# -- the pipeline ---------------------------------------------------------------------------------------
async def relay(runtime: Runtime, request: Request, kind: Kind, path_model: str | None = None,
                dialect: Dialect | None = None):
    if dialect is None:
        dialect = chat.BY_KIND[kind]
    auth = await authenticate(runtime.cache, request)
    raw = await read_body(request, runtime.settings.max_request_body_size * MB)
    body = parse_body(raw)
    inbound = dialect.read(body, path_model)
    model = inbound.model
    if inbound.body is not None:  # the dialect expanded the body (previous_response_id): relay that one
        body = inbound.body
    snapshot = await runtime.cache.channels()
    if auth.pinned_channel is None:
        check_model_known(snapshot, auth.user.group, model)
    check_model_allowed(auth.token, model)
    scope = request.scope  # (request.url would build and parse a whole URL: not needed for the path)
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    if query:
        path += "?" + query.decode()
    if path_model is not None and kind == "embeddings":  # /v1/engines/{model}/embeddings: as /v1/embeddings
        path = "/v1/embeddings"
    ctx = RelayContext(
        request_id=request_id(request), kind=kind, path=path, token=auth.token, user=auth.user, body=body,
        raw=raw, model=model, dialect=dialect, stream=inbound.stream, client_wants_usage=inbound.wants_usage,
        max_tokens=inbound.max_tokens, pinned=auth.pinned_channel)
    if dialect.forward_headers:
        headers = request.headers
        ctx.forward = {name: headers[name] for name in dialect.forward_headers if name in headers}
    if inbound.body is not None:
        ctx.body_rewritten = True
    if path_model is not None and dialect.family == "openai":  # (a Gemini body names no model: its path does)
        ctx.body, ctx.body_rewritten = {**body, "model": model}, True

    await runtime.limiter.check(ctx)  # rate limits (relay/limits.py); released by _settle or _refund
    try:
        channel = first_channel(snapshot, ctx.user.group, model, ctx.pinned)
        _use_channel(runtime, ctx, channel)
        await _reserve(runtime, ctx)
        return await until_client_leaves(request, _attempts(runtime, ctx, snapshot, channel))
    except BaseException:
        if not ctx.settled:
            _refund(runtime, ctx)
        raise


async def _reserve(runtime: Runtime, ctx: RelayContext) -> None:
    """Hold the request's worst case. The prompt is first bounded cheaply (half its body's bytes, no
    tokenizer); only when that amount is refused is the prompt counted exactly (tiktoken, off the event loop)
    and the smaller amount tried: a token that can pay for the request is never refused. A refusal re-reads
    the token's row into the cache (the database is the authority; the cache only lets requests try)."""
    assert ctx.price is not None
    max_tokens = ctx.max_tokens
    pre_consumed = runtime.options.PreConsumedQuota
    ctx.reserved = ctx.price.reservation(pre_consumed, len(ctx.raw) // 2, max_tokens)
    try:
        await _hold(runtime, ctx)
        return
    except (TokenQuotaExhausted, UserQuotaExhausted) as refusal:
        refused: Exception = refusal
    prompt = await asyncio.to_thread(ctx.dialect.count_prompt, ctx.body, ctx.upstream_model)
    exact = ctx.price.reservation(pre_consumed, prompt, max_tokens)
    if exact < ctx.reserved:
        ctx.reserved = exact
        try:
            await _hold(runtime, ctx)
            return
        except (TokenQuotaExhausted, UserQuotaExhausted) as refusal:
            refused = refusal
    ctx.reserved = 0
    if isinstance(refused, TokenQuotaExhausted):
        await runtime.cache.token(ctx.token.key, fresh=True)  # the cached balance was stale: re-read the row
    raise refused


async def _hold(runtime: Runtime, ctx: RelayContext) -> None:
    ctx.hold = await runtime.ledger.reserve(token_id=ctx.token.id, unlimited=ctx.token.unlimited_quota,
                                            user_id=ctx.user.id, amount=ctx.reserved, request_id=ctx.request_id)


def _use_channel(runtime: Runtime, ctx: RelayContext, channel: ChannelInfo) -> None:
    ctx.channel = channel
    ctx.upstream_model = channel.model_mapping.get(ctx.model, ctx.model)
    ctx.price = pricing.price_for(runtime.options, ctx.upstream_model, channel.type, ctx.user.group)


def build_call(runtime: Runtime, ctx: RelayContext, channel: ChannelInfo, family: str = "openai") -> Call:
    """The call for a channel of ``family``: the client's body when the dialect speaks that family (or the
    kind is not chat: OpenAI formats only), else the internal form; copied on first change (a retry on another
    channel starts again from the client's body)."""
    dialect = ctx.dialect
    native = ctx.kind != "chat" or family == dialect.family
    if native:
        body, rewritten = ctx.body, ctx.body_rewritten
    else:
        if ctx.internal is None:
            ctx.internal = {"model": ctx.model, **dialect.to_internal(ctx.body)}
        body, rewritten = ctx.internal, True
    copied = False
    kind = channel_type(channel.type)

    def own() -> dict:
        nonlocal body, rewritten, copied
        if not copied:
            body, copied = dict(body), True
        rewritten = True
        return body

    if ctx.upstream_model != ctx.model and (not native or "model" in body or dialect.family == "openai"):
        own()["model"] = ctx.upstream_model
    ctx.system_prompt_reset = False
    if channel.system_prompt and ctx.kind == "chat":
        changed = (dialect.apply_system_prompt(body, channel.system_prompt) if native
                   else chat.with_system_prompt(body, channel.system_prompt))
        body, rewritten, copied = changed, True, True
        ctx.system_prompt_reset = True
    if ctx.stream:
        asked = (dialect if native else chat.CHAT).request_usage(body)
        if asked is not None:
            body, rewritten, copied = asked, True, True
    if kind.re_serialize:
        own()
    path = ctx.path if native else INTERNAL_PATH
    return Call(kind=ctx.kind, path=path, model=ctx.upstream_model, body=body, raw=ctx.raw,
                rewritten=rewritten, stream=ctx.stream, accept="text/event-stream" if ctx.stream else "",
                native=native and ctx.kind == "chat", headers=ctx.forward)


async def _attempts(runtime: Runtime, ctx: RelayContext, snapshot: ChannelSnapshot, channel: ChannelInfo):
    retries = 0 if ctx.pinned is not None else max(int(runtime.options.RetryTimes), 0)
    while True:
        ctx.tried.add(channel.id)
        try:
            answer = await _attempt(runtime, ctx, channel)
            runtime.health.record(channel, True)
            return answer
        except UpstreamFailure as failure:
            runtime.health.record(channel, not channel_fault(failure))  # failure rate, metrics
            if runtime.options.AutomaticDisableChannelEnabled and should_disable_channel(failure):
                runtime.health.disable_later(channel, failure.message)  # notice + system log (services/health.py)
            if should_retry(failure, retries, ctx.pinned is not None):
                following = choose_channel(snapshot, ctx.user.group, ctx.model, ctx.tried)
                if following is not None:
                    retries -= 1
                    channel = following
                    _use_channel(runtime, ctx, channel)
                    continue
            if failure.status == 429 and len(ctx.tried) > 1:
                saturated = UpstreamFailure(SATURATED_MESSAGE, status=429, retryable=False,
                                            code="bad_response_status_code", param="429")
                saturated.headers = failure.headers or {"Retry-After": SATURATED_RETRY_AFTER}
                raise saturated from None
            raise


async def _attempt(runtime: Runtime, ctx: RelayContext, channel: ChannelInfo):
    began = runtime.credentials.clock()
    try:
        return await _attempt_once(runtime, ctx, channel)
    except CredentialRevoked:  # the provider refused the cached credential: once more after a fresh exchange
        return await _attempt_once(runtime, ctx, channel, renew=began)


async def _attempt_once(runtime: Runtime, ctx: RelayContext, channel: ChannelInfo, renew: float | None = None):
    adaptor = adaptor_for(channel.type)
    if adaptor is None:
        raise not_supported(msg("relay.type_not_supported", type=channel_type(channel.type).name))
    family = adaptor.family
    serves = getattr(ctx.dialect, "serves", None)
    if serves is not None and family == ctx.dialect.family and not serves(channel.type, channel.config):
        family = ""  # the family's channel does not speak this dialect's API itself: convert
    call = build_call(runtime, ctx, channel, family)
    native = ctx.kind != "chat" or family == ctx.dialect.family  # the pass-through half answers
    passing = cast(PassThrough, adaptor)
    target = Target(channel.type, channel.base_url, channel.key, channel.config, channel.other,
                    runtime.provider_settings)
    if native and not hasattr(adaptor, "parse_response"):  # the adaptor's words for what it does not serve
        raise not_served(adaptor, target, call, channel_type(channel.type).name)
    exchange = getattr(adaptor, "credential_request", None)
    wanted = exchange(target) if exchange is not None else None
    if wanted is not None:
        target.credential = await runtime.credentials.get(wanted, channel.key, renew=renew)
    request = adaptor.build_request(target, call)
    plain = request.websocket_message is None and request.follow is None  # else Spark's websocket, Replicate's steps
    resp = await (runtime.upstream.send(request) if plain else ws_upstream.send(runtime.upstream, request))
    limit = runtime.settings.relay_max_response_size * MB
    if resp.status not in (200, 201):
        if resp.status == 401 and wanted is not None:  # the credential was revoked early: the next call renews it
            runtime.credentials.forget(wanted.cache_key)
        failure = scrub(adaptor.map_error(resp.status, await resp.read(limit)), channel.key,
                        *config_secrets(channel.config))
        retry_after = resp.header("Retry-After")
        if retry_after:
            failure.headers = {"Retry-After": retry_after}
        raise failure
    if ctx.stream:
        if resp.content_type.startswith("application/json") and not getattr(adaptor, "streams_json", False):
            body = await resp.read(limit)
            failure = scrub(adaptor.map_error(502, body), channel.key, *config_secrets(channel.config))
            failure.retryable = False
            raise failure
        try:
            first = await resp.readany()  # a failure before the first byte can still be retried
        except NETWORK_ERRORS as exc:
            resp.close()
            raise network_failure(exc) from None
        except BaseException:
            resp.close()
            raise
        # ENFORCE_INCLUDE_USAGE: clients get the usage chunk even unasked (one-api's behaviour with it set).
        keep_usage = ctx.client_wants_usage or runtime.settings.enforce_include_usage
        frames: FrameReader | None = None
        translator: StreamTranslator
        if native:
            own = getattr(ctx.dialect, "stream_translator", None)
            translator = own() if own is not None else passing.stream_translator(call, keep_usage)
        else:
            translator = Converter(adaptor.decoder(call), ctx.dialect.encoder(ctx.model, ctx.request_id), keep_usage)
            frames = adaptor.frame_reader()

        if getattr(translator, "raw", False):  # a byte-for-byte pass-through reads the upstream's chunks
            frames = RawChunks()

        def settle() -> Settlement:
            return _settle(runtime, ctx, translator.usage, translator.text() if translator.usage is None else "")

        events = UpstreamStream(ctx, resp, first, translator, frames or SSEReader(limit), frames is None, settle,
                                runtime.ledger.committed, runtime.settings.relay_timeout or None)
        return SSEResponse(events)  # (its end closes the stream: ``aclose`` settles one that never started)
    if native and passes_through(adaptor):  # the client gets the upstream's bytes: a large answer streams through
        body, complete = await resp.read_head(min(STREAM_THROUGH_AT, limit))
        if not complete:
            def settle_passed(usage: Usage | None) -> None:
                _settle(runtime, ctx, usage, "")

            return pass_through(resp, body, settle_passed)
    else:
        body = await resp.read(limit)
    headers = dict(resp.headers)
    try:
        if native:
            parsed: Parsed = passing.parse_response(call, body, resp.content_type)
            content, usage, text = parsed.body, parsed.usage, parsed.text
        else:
            answer = adaptor.parse_answer(call, body, resp.content_type)
            content, usage = ctx.dialect.encode_answer(answer, ctx.model), answer.usage
            text = answer.delivered() if usage is None else ""
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = "application/json"
    except UpstreamFailure as failure:
        raise scrub(failure, channel.key, *config_secrets(channel.config)) from None
    settlement = _settle(runtime, ctx, usage, text)
    if settlement.done is not None:  # SETTLEMENT_WAIT: answer once the settlement is committed
        await runtime.ledger.committed(settlement)
    return Response(content=content, status_code=resp.status, headers=headers)


# -- settlement -----------------------------------------------------------------------------------------
def _settle(runtime: Runtime, ctx: RelayContext, usage: Usage | None, text: str) -> Settlement:
    assert ctx.price is not None and ctx.channel is not None and ctx.hold is not None
    estimated = usage is None
    if usage is None:
        prompt = ctx.dialect.count_prompt(ctx.body, ctx.upstream_model)
        completion = token_count.count_text(text, ctx.upstream_model)
        usage = Usage(prompt, completion)
    actual = ctx.price.charge(usage)
    content = ctx.price.describe(usage)
    if usage.cached_tokens or usage.reasoning_tokens:
        content += f"，cached {usage.cached_tokens}，reasoning {usage.reasoning_tokens}"
    if usage.cache_creation_tokens:
        content += f"，cache write {usage.cache_creation_tokens}"
    if estimated:
        content += ESTIMATED_MARK
    log = ConsumeLog(
        user_id=ctx.user.id, username=ctx.user.username, token_name=ctx.token.name, model_name=ctx.upstream_model,
        channel_id=ctx.channel.id, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        content=content, request_id=ctx.request_id, elapsed_ms=ctx.elapsed_ms, is_stream=ctx.stream,
        system_prompt_reset=ctx.system_prompt_reset, created_at=ctx.created_at)
    settlement = runtime.ledger.settle(ctx.hold, ctx.channel.id, actual, log)
    ctx.settled = True
    runtime.relay_done(ctx, usage.prompt_tokens, usage.completion_tokens, actual, True)
    return settlement


def _refund(runtime: Runtime, ctx: RelayContext) -> None:
    if ctx.hold is not None:
        runtime.ledger.refund(ctx.hold)
    ctx.settled = True
    runtime.relay_done(ctx, 0, 0, 0, False)
