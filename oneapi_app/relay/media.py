"""The relay's media endpoints: images (generations, edits), audio (speech, transcriptions, translations) and
rerank -- every One API call beyond text, on the OpenAI-family channels; image generations also on the
channels whose adaptor has an image half (``image_maker_for``: Replicate; Ali DashScope on Ali and Ali Bailian
channels; relay/native_images.py).

One path per request, the text pipeline's steps with the media rules (relay/media_rules.py):
authenticate -> read the body (JSON, or multipart read in place: relay/multipart.py) -> rate limits (the
pipeline's ``runtime.limiter.check``) -> pick a channel -> validate and price -> reserve through the ledger ->
send (retrying on another channel while nothing reached the client; each attempt counted in the channel's
health) -> answer -> settle through the ledger, exactly once (a failure before the answer refunds); both
ends go through ``runtime.relay_done`` as the pipeline's do (rate-limit release, per-model metrics).

Bodies go upstream as they came (a mapped model is spliced into the same bytes); a large audio upload streams
upstream as it arrives (relay/upload.py: no retry on another channel once it started). Answers come back
with the upstream's status and headers: speech audio and large image answers stream through as they arrive.
Billing: images and speech cost what the request says (reserved and charged exactly, whenever the upstream
answered 200/201); transcriptions are charged by the tokens of the transcript, rerank by the upstream's
reported tokens (else query + documents counted locally, marked as estimated).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..catalog.channel_types import AZURE, channel_type
from ..errors import TokenQuotaExhausted, UpstreamFailure
from ..i18n import msg
from ..middleware import request_id
from ..services import pricing
from ..services.cache import ChannelInfo, ChannelSnapshot, TokenInfo, UserInfo
from ..services.ledger import ConsumeLog, Hold, Settlement
from ..services.pricing import Price
from . import media_rules as rules
from . import native_images, token_count
from .adaptors import image_maker_for
from .adaptors.base import Call, ImageCall, ImageMaker, Target, not_supported
from .adaptors.openai import request_url
from .auth import authenticate, check_model_allowed
from .client import read_body, until_client_leaves
from .multipart import Form, with_field
from .passthrough import STREAM_THROUGH_AT, pass_through
from .pipeline import ESTIMATED_MARK, parse_body
from .retry import channel_fault, check_model_known, choose_channel, first_channel, should_retry
from .upload import Upload, open_upload
from .upstream import MB, UpstreamRequest, UpstreamResponse, scrub, should_disable_channel, status_failure

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .limits import Ticket

log = logging.getLogger(__name__)
COHERE = 35  # its rerank is /v1/rerank, beside the OpenAI compatibility API


@dataclass(frozen=True, slots=True)
class MediaEndpoint:
    path: str
    kind: rules.MediaKind
    multipart: bool = False
    default_model: str = ""
    file_field: str = ""


MEDIA_ENDPOINTS: tuple[MediaEndpoint, ...] = (
    MediaEndpoint("/v1/images/generations", "images", default_model="dall-e-2"),
    MediaEndpoint("/v1/images/edits", "image_edits", multipart=True, default_model="dall-e-2", file_field="image"),
    MediaEndpoint("/v1/audio/speech", "speech"),
    MediaEndpoint("/v1/audio/transcriptions", "transcriptions", multipart=True, default_model="whisper-1",
                  file_field="file"),
    MediaEndpoint("/v1/audio/translations", "translations", multipart=True, default_model="whisper-1",
                  file_field="file"),
    MediaEndpoint("/v1/rerank", "rerank"),
)


@dataclass(slots=True)
class MediaJob:
    endpoint: MediaEndpoint
    request_id: str
    token: TokenInfo
    user: UserInfo
    path: str
    raw: bytes
    fields: dict
    form: Form | None
    model: str
    content_type: str
    accept: str
    pinned: int | None
    started: float = field(default_factory=time.perf_counter)
    created_at: int = field(default_factory=lambda: int(time.time()))
    channel: ChannelInfo | None = None
    upstream_model: str = ""
    price: Price | None = None
    image: rules.ImageJob | None = None
    upload: Upload | None = None  # a multipart body (streamed upstream when large)
    hold: Hold | None = None
    settled: bool = False
    tried: set[int] = field(default_factory=set)
    limit: Ticket | None = None  # what the rate limiter holds (relay/limits.py), released by _settle or _refund

    @property
    def kind(self) -> rules.MediaKind:
        return self.endpoint.kind

    @property
    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


# -- the request ----------------------------------------------------------------------------------------
async def relay_media(runtime: Runtime, request: Request, endpoint: MediaEndpoint) -> Response:
    auth = await authenticate(runtime.cache, request)
    limit = runtime.settings.max_request_body_size * MB
    content_type = request.headers.get("content-type", "")
    form = upload = None
    if endpoint.multipart:  # transcriptions stream large files through; image edits (< 4 MB) are read whole
        upload = await open_upload(request, content_type, limit, stream_ok=endpoint.kind != "image_edits")
        raw, form = upload.head, upload.reader.form
        fields: dict = dict(form.fields)
        if upload.whole and endpoint.file_field not in form.files:
            raise rules.invalid(msg("media.file_required", field=endpoint.file_field), "file_missing")
    else:
        raw = await read_body(request, limit)
        fields = parse_body(raw)
    model = fields.get("model") if isinstance(fields.get("model"), str) else ""
    model = model or endpoint.default_model
    if not model:
        raise rules.invalid(msg("relay.field_required", field="model"), "invalid_request")
    job = MediaJob(endpoint, request_id(request), auth.token, auth.user, _client_path(request), raw, fields, form,
                   model, content_type, request.headers.get("accept", ""), auth.pinned_channel, upload=upload)
    _check_fields(job)
    snapshot = await runtime.cache.channels()
    if job.pinned is None:
        check_model_known(snapshot, job.user.group, model)
    check_model_allowed(job.token, model)
    await runtime.limiter.check(job)  # the pipeline's rate limits; released by _settle or _refund
    try:
        channel = first_channel(snapshot, job.user.group, model, job.pinned)
        _use_channel(runtime, job, channel)
        await _reserve(runtime, job)
        if upload is not None and not upload.whole:  # the body is still arriving: nothing else may read it
            return await _attempts(runtime, job, snapshot, channel)
        return await until_client_leaves(request, _attempts(runtime, job, snapshot, channel))
    except BaseException:
        if not job.settled:
            _refund(runtime, job)
        raise


def _client_path(request: Request) -> str:
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    return path + "?" + query.decode() if query else path


def _check_fields(job: MediaJob) -> None:
    """The request's own fields (the model-specific image rules wait for the upstream model)."""
    kind = job.kind
    if kind in ("images", "image_edits"):
        job.image = rules.image_job(job.fields)
    elif kind == "speech":
        rules.speech_input(job.fields)
    elif kind in ("transcriptions", "translations"):
        rules.transcript_format(job.fields)
    else:
        rules.rerank_texts(job.fields)


def _use_channel(runtime: Runtime, job: MediaJob, channel: ChannelInfo) -> None:
    job.channel = channel
    job.upstream_model = channel.model_mapping.get(job.model, job.model)
    job.price = pricing.price_for(runtime.options, job.upstream_model, channel.type, job.user.group)
    if job.image is not None:
        rules.check_image(job.image, job.upstream_model)
        maker = image_maker_for(channel.type) if job.kind == "images" else None
        if maker is not None:  # the provider's own image API: what it cannot do is refused before reserving
            maker.check_image(_image_call(job))


def planned_quota(runtime: Runtime, job: MediaJob) -> int:
    """What the request costs when that is known before the call (images, speech), else what to hold."""
    price = job.price
    assert price is not None
    if job.image is not None:
        return rules.image_quota(job.image, job.upstream_model, price)
    if job.kind == "speech":
        return price.units(len(job.fields["input"]))
    if job.kind == "rerank":  # the texts' bytes bound their tokens; the upstream's count is charged
        return price.quota(sum(len(t.encode()) for t in rules.rerank_texts(job.fields)), 0)
    return price.units(runtime.options.PreConsumedQuota)


async def _reserve(runtime: Runtime, job: MediaJob) -> None:
    try:
        job.hold = await runtime.ledger.reserve(token_id=job.token.id, unlimited=job.token.unlimited_quota,
                                                user_id=job.user.id, amount=planned_quota(runtime, job),
                                                request_id=job.request_id)
    except TokenQuotaExhausted:
        await runtime.cache.token(job.token.key, fresh=True)  # the cached balance was stale: re-read the row
        raise


# -- upstream -------------------------------------------------------------------------------------------
def upstream_request(job: MediaJob, channel: ChannelInfo) -> UpstreamRequest:
    kind = channel_type(channel.type)
    if kind.family != "openai":
        raise not_supported(msg("media.not_supported", type=kind.name, endpoint=job.endpoint.path))
    if job.kind == "rerank" and channel.type == COHERE:
        url = (channel.base_url or kind.base_url).rstrip("/") + "/v1/rerank"
    else:
        target = Target(channel.type, channel.base_url, channel.key, channel.config, channel.other)
        url = request_url(target, Call(kind="embeddings", path=job.path, model=job.upstream_model, body={},
                                       raw=b"", rewritten=False, stream=False))
    headers = {"Content-Type": job.content_type or "application/json", "Accept": job.accept or "*/*"}
    if channel.type == AZURE:
        headers["api-key"] = channel.key
    else:
        headers["Authorization"] = f"Bearer {channel.key}"
    body = job.raw
    if job.fields.get("model") != job.upstream_model:  # mapped, or the default model the client left out
        if job.form is not None:
            body = with_field(job.raw, job.form, "model", job.upstream_model)
        else:
            body = orjson.dumps({**job.fields, "model": job.upstream_model})
    upload = job.upload
    if upload is not None and not upload.whole:
        if upload.length is not None:  # the client's length, give or take a mapped model name
            headers["Content-Length"] = str(upload.length + len(body) - len(job.raw))
        return UpstreamRequest("POST", url, headers, upload.body(body))
    return UpstreamRequest("POST", url, headers, body)


async def _attempts(runtime: Runtime, job: MediaJob, snapshot: ChannelSnapshot, channel: ChannelInfo) -> Response:
    retries = 0 if job.pinned is not None else max(int(runtime.options.RetryTimes), 0)
    while True:
        job.tried.add(channel.id)
        try:
            answer = await _attempt(runtime, job, channel)
            runtime.health.record(channel, True)
            return answer
        except UpstreamFailure as failure:
            if job.upload is not None and job.upload.error is not None:
                raise job.upload.error from None  # the client's body stopped (too large, broken, gone)
            runtime.health.record(channel, not channel_fault(failure))  # failure rate, metrics (as the pipeline)
            if runtime.options.AutomaticDisableChannelEnabled and should_disable_channel(failure):
                runtime.health.disable_later(channel, failure.message)  # notice + system log (services/health.py)
            started = job.upload is not None and job.upload.started
            if should_retry(failure, retries, job.pinned is not None) and not started:
                following = choose_channel(snapshot, job.user.group, job.model, job.tried)
                if following is not None:
                    retries -= 1
                    channel = following
                    _use_channel(runtime, job, channel)
                    continue
            raise


async def _attempt(runtime: Runtime, job: MediaJob, channel: ChannelInfo) -> Response:
    maker = image_maker_for(channel.type) if job.kind == "images" else None
    if maker is not None:
        return await _native_image(runtime, job, channel, maker)
    resp = await runtime.upstream.send(upstream_request(job, channel))
    limit = runtime.settings.relay_max_response_size * MB
    if resp.status not in (200, 201):
        failure = scrub(status_failure(resp.status, await resp.read(limit)), channel.key)
        retry_after = resp.header("Retry-After")
        if retry_after:
            failure.headers = {"Retry-After": retry_after}
        raise failure
    if job.kind in ("images", "image_edits", "speech"):
        return await _fixed_price_answer(runtime, job, resp, limit)
    body = await resp.read(limit)
    _raise_error_body(job, body, resp.content_type, channel)
    if job.upload is not None:
        if job.upload.error is not None:
            raise job.upload.error
        job.fields = dict(job.upload.reader.form.fields)  # with the fields sent after the file
    if job.kind == "rerank":
        tokens = rules.rerank_usage(body)
        estimated = tokens is None
        if tokens is None:
            tokens = await _count(" ".join(rules.rerank_texts(job.fields)), job.upstream_model)
        assert job.price is not None
        content = job.price.describe() + (ESTIMATED_MARK if estimated else "")
        settlement = _settle(runtime, job, job.price.quota(tokens, 0), content, prompt_tokens=tokens)
    else:
        response_format = rules.transcript_format(job.fields)
        text = rules.transcript_text(body, response_format)
        if text is None:
            raise UpstreamFailure(msg("media.bad_answer", endpoint=job.endpoint.path), status=502, retryable=True,
                                  code="unmarshal_response_body_failed", type="one_api_error")
        tokens = await _count(text, job.upstream_model)
        assert job.price is not None
        content = f"{_ratios(job.price)}，transcript {tokens} tokens"
        settlement = _settle(runtime, job, job.price.quota(tokens, 0), content, completion_tokens=tokens)
    await runtime.ledger.committed(settlement)
    return Response(content=body, status_code=resp.status, headers=dict(resp.headers))


async def _fixed_price_answer(runtime: Runtime, job: MediaJob, resp: UpstreamResponse, limit: int) -> Response:
    """Images and speech: the price is known, charged once the upstream answered; the answer streams through
    when it is large (audio, many base64 images)."""
    assert job.price is not None and job.channel is not None
    head, complete = await resp.read_head(0 if job.kind == "speech" else min(STREAM_THROUGH_AT, limit))
    if complete:
        _raise_error_body(job, head, resp.content_type, job.channel)
    quota = planned_quota(runtime, job)
    if job.image is not None:
        settlement = _charge_image(runtime, job)
    else:
        characters = len(job.fields["input"])
        content = f"{_ratios(job.price)}，input {characters} characters"
        settlement = _settle(runtime, job, quota, content, prompt_tokens=characters)
    await runtime.ledger.committed(settlement)
    if complete:
        return Response(content=head, status_code=resp.status, headers=dict(resp.headers))
    return pass_through(resp, head, lambda _usage: None)


def _image_call(job: MediaJob) -> ImageCall:
    assert job.image is not None
    image = job.image
    return native_images.image_call(job.fields, image.prompt, image.n, image.size, image.quality, job.upstream_model)


async def _native_image(runtime: Runtime, job: MediaJob, channel: ChannelInfo, maker: ImageMaker) -> Response:
    """An image generated by the provider's own API (the adaptor's ImageMaker half: relay/native_images.py),
    answered as OpenAI's images response and charged as an OpenAI channel's image."""
    target = Target(channel.type, channel.base_url, channel.key, channel.config, channel.other)
    body = await native_images.generate(runtime.upstream, maker, target, _image_call(job),
                                        runtime.settings.relay_max_response_size * MB, runtime.background.spawn)
    await runtime.ledger.committed(_charge_image(runtime, job))
    return Response(content=body, media_type="application/json")


def _charge_image(runtime: Runtime, job: MediaJob) -> Settlement:
    assert job.image is not None and job.price is not None
    image = job.image
    content = f"{_ratios(job.price)}，{image.size}{' hd' if image.quality == 'hd' else ''} × {image.n}"
    return _settle(runtime, job, planned_quota(runtime, job), content)


def _raise_error_body(job: MediaJob, body: bytes, content_type: str, channel: ChannelInfo) -> None:
    """An OpenAI error object in a 200 answer (One API's ``request_error``): a failure, not an answer."""
    if not content_type.startswith("application/json") or b'"error"' not in body[:4096]:
        return
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        raise scrub(status_failure(500, body), channel.key)


async def _count(text: str, model: str) -> int:
    if len(text) < 4096:
        return token_count.count_text(text, model)
    return await asyncio.to_thread(token_count.count_text, text, model)


def _ratios(price: Price) -> str:
    return f"倍率：{price.model_ratio:.2f} × {price.group_ratio:.2f}"


def _settle(runtime: Runtime, job: MediaJob, quota: int, content: str, *, prompt_tokens: int = 0,
            completion_tokens: int = 0) -> Settlement:
    assert job.channel is not None and job.hold is not None
    entry = ConsumeLog(
        user_id=job.user.id, username=job.user.username, token_name=job.token.name, model_name=job.upstream_model,
        channel_id=job.channel.id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        content=content, request_id=job.request_id, elapsed_ms=job.elapsed_ms, is_stream=False,
        system_prompt_reset=False, created_at=job.created_at)
    settlement = runtime.ledger.settle(job.hold, job.channel.id, quota, entry)
    job.settled = True
    runtime.relay_done(job, prompt_tokens, completion_tokens, quota, True)
    return settlement


def _refund(runtime: Runtime, job: MediaJob) -> None:
    if job.hold is not None:
        runtime.ledger.refund(job.hold)
    job.settled = True
    runtime.relay_done(job, 0, 0, 0, False)


def media_route(endpoint: MediaEndpoint):
    async def serve(request: Request) -> Response:
        return await relay_media(request.app.state.runtime, request, endpoint)

    serve.__name__ = f"relay_{endpoint.kind}"
    return serve


MEDIA_ROUTES = [(e.path, media_route(e), ["POST"]) for e in MEDIA_ENDPOINTS]
