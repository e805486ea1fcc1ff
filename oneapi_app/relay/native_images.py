"""/v1/images/generations on channels whose provider generates images with its own API (the adaptors'
``ImageMaker`` half: Replicate's predictions, DashScope's text2image tasks). The adaptor builds the request
and reads each answer; this module does the I/O: send, poll while the answer says the task still runs
(bounded by DEADLINE seconds), and, for ``response_format: b64_json``, download the images the provider
gives as URLs. The result is OpenAI's images response ``{"created", "data": [{"url"} | {"b64_json"}]}``.
Where the provider makes one image a call (``split_image``: Replicate), the ``n`` calls run concurrently
and their images are joined in order; the request succeeds only if every call does (the caller charges
the n images once, or refunds). When a call fails or the client leaves, the tasks still running are
cancelled upstream where the provider says how (``ImageStep.cancel``: Replicate's ``urls.cancel``).

A failure before the task exists upstream may be retried on another channel (as the adaptor's error says,
and only if no other call of the request was created); once a task was created, a failure is final (a
retry would generate, and be billed, twice upstream).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ..errors import RelayError, UpstreamFailure
from ..i18n import msg
from .adaptors.base import ImageCall, ImageMaker, ImageStep, Target
from .upstream import UpstreamRequest, scrub

if TYPE_CHECKING:
    from .upstream import Upstream

DEADLINE = 300.0  # seconds a task may run, polls included
CANCEL_SECONDS = 10.0  # for each cancel request of a failed request's running tasks
log = logging.getLogger(__name__)
T = TypeVar("T")


Spawn = Callable[[Coroutine[Any, Any, Any], str], object]  # the runtime's tracked background work


async def generate(upstream: Upstream, maker: ImageMaker, target: Target, image: ImageCall, limit: int,
                   spawn: Spawn) -> bytes:
    """The images of ``image``: the maker's calls (``split_image``: one, or one per image) made concurrently,
    their images joined in order. All or nothing: a call that fails fails the request; the others stop being
    polled and those still running upstream are cancelled there when the provider can (best effort; when the
    client left, as background work given to ``spawn``: runtime.background, awaited at shutdown)."""
    calls = maker.split_image(image)
    ends = asyncio.get_running_loop().time() + DEADLINE
    firsts = await asyncio.gather(*(_create(upstream, maker, target, call, limit) for call in calls),
                                  return_exceptions=True)
    steps = [first for first in firsts if isinstance(first, ImageStep)]
    if len(steps) < len(firsts):
        failures = [first for first in firsts if not isinstance(first, ImageStep)]
        failure = next((f for f in failures if isinstance(f, UpstreamFailure) and not f.retryable), failures[0])
        if not isinstance(failure, UpstreamFailure):
            raise failure
        if steps:  # others were created (billed upstream): another channel would make them again
            failure.retryable = False
            await _cancel(upstream, steps)
        raise scrub(failure, target.key) from None
    try:
        parts = await _all([_finish(upstream, maker, target, call, steps, i, limit, ends)
                            for i, call in enumerate(calls)])
    except UpstreamFailure:
        await _cancel(upstream, steps)
        raise
    except asyncio.CancelledError:  # the client left: cancel them upstream without holding its request
        try:
            spawn(_cancel(upstream, steps), "image-task-cancel")
        except RuntimeError:  # shutting down (no new background work): the tasks end upstream on their own
            pass
        raise
    data = [item for part in parts for item in part]
    if image.response_format == "b64_json":
        data = await _all([_as_b64(upstream, item, limit) for item in data])
    return orjson.dumps({"created": int(time.time()), "data": data})


async def _create(upstream: Upstream, maker: ImageMaker, target: Target, image: ImageCall, limit: int) -> ImageStep:
    """The first answer of one call (retryable as the adaptor's error says: nothing exists upstream yet)."""
    resp = await upstream.send(maker.build_image_request(target, image))
    body = await resp.read(limit)
    if resp.status not in (200, 201):
        raise maker.map_error(resp.status, body)
    return maker.parse_image_answer(target, image, body)


async def _finish(upstream: Upstream, maker: ImageMaker, target: Target, image: ImageCall, steps: list[ImageStep],
                  index: int, limit: int, ends: float) -> list[dict]:
    """Call ``index``'s task polled until it has its images (bounded by ``ends``), its latest answer kept in
    ``steps`` (what is still running when the request fails); any failure now is final."""
    loop = asyncio.get_running_loop()
    step = steps[index]
    while step.poll is not None:
        if loop.time() + step.wait > ends:
            raise UpstreamFailure(msg("media.task_timeout", provider=getattr(maker, "name", ""), id="",
                                      seconds=int(DEADLINE)), status=504, retryable=False, code="image_task_timeout",
                                  type="one_api_error")
        await asyncio.sleep(step.wait)
        try:
            resp = await upstream.send(step.poll)
            body = await resp.read(limit)
            if resp.status not in (200, 201):
                raise maker.map_error(resp.status, body)
            step = steps[index] = maker.parse_image_answer(target, image, body)
        except UpstreamFailure as failure:
            if failure.status != 504:  # the task's own end (failed): nothing left to cancel
                steps[index] = ImageStep()
            failure.retryable = False
            raise scrub(failure, target.key) from None
    return step.images


async def _cancel(upstream: Upstream, steps: list[ImageStep]) -> None:
    """Best effort: cancel upstream the tasks still running (their ``cancel`` request) once the request failed."""
    requests = [step.cancel for step in steps if step.poll is not None and step.cancel is not None]
    if requests:
        await asyncio.gather(*(_quietly(upstream, request) for request in requests))


async def _quietly(upstream: Upstream, request: UpstreamRequest) -> None:
    try:
        resp = await asyncio.wait_for(upstream.send(request), CANCEL_SECONDS)
        await asyncio.wait_for(resp.read(64 * 1024), CANCEL_SECONDS)
    except (UpstreamFailure, TimeoutError):
        log.info("an image task could not be cancelled upstream")


async def _all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every coroutine's result, in order; the first failure is raised and the others are cancelled."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()  # no-op on the finished ones; stops the polls of the others after a failure


async def _as_b64(upstream: Upstream, item: dict, limit: int) -> dict:
    url = item.get("url")
    if not isinstance(url, str):
        return item
    if url.startswith("data:"):  # a data URL: its base64 part
        return {"b64_json": url.partition(",")[2]}
    try:
        resp = await upstream.send(UpstreamRequest("GET", url, {"Accept": "image/*"}))
        content = await resp.read(limit)
    except UpstreamFailure as failure:
        raise _download_failed(failure.message) from None
    if resp.status != 200:
        raise _download_failed(f"HTTP {resp.status}")
    return {"b64_json": base64.b64encode(content).decode()}


def _download_failed(detail: str) -> UpstreamFailure:
    return UpstreamFailure(msg("media.image_download_failed", detail=detail), status=502, retryable=False,
                           code="image_download_failed", type="one_api_error")


def image_call(fields: dict, prompt: str, n: int, size: str, quality: str, model: str) -> ImageCall:
    """The validated request for the upstream ``model`` (``response_format`` is url or b64_json)."""
    response_format = fields.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise RelayError(msg("media.bad_image_format"), status=400, code="invalid_response_format")
    return ImageCall(model=model, prompt=prompt, n=n, size=size, quality=quality, response_format=response_format,
                     body=fields)
