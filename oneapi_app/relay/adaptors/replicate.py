"""Replicate (channel type 46, family ``replicate``): the predictions API of official models.

``POST {base}/{owner}/{model}/predictions`` (base ``https://api.replicate.com/v1/models/``) with
``Prefer: wait`` (Replicate holds the answer up to 60 s): the prediction comes back finished.

- chat models (llama, mistral, granite...): the conversation becomes one ``prompt`` ("role: text" lines, as
  one-api builds it; system text goes to ``system_prompt`` as well); ``output`` is the list of generated
  pieces; usage is the prediction's ``metrics.input_token_count`` / ``output_token_count``;
- image models (flux, ideogram, recraft, stable-diffusion): the last message is the prompt; the image URLs
  are the answer's text as Markdown images (``![image](url)``). Usage is 1000 prompt tokens per image, so
  a model ratio prices an image like one-api's image pricing (ratio x 1000 quota per image);
- a stream request of a chat model creates the prediction with ``"stream": true`` (no wait) and then reads
  its ``urls.stream`` (a call in two steps: ``UpstreamRequest.follow``): ``event: output`` pieces become
  text deltas as they come, ``done`` ends it, ``error`` is an error event. The stream carries no token
  counts: the gateway counts that answer locally. Image models answer a stream request with the finished
  prediction as one delta.

A prediction that has not finished when the wait ends is a 504 naming its id (not retried: it is still
running upstream); ``failed``/``canceled`` predictions are a 502 with Replicate's error text.

/v1/images/generations (the ImageMaker half, as one-api's replicate/image.go): the prompt and the size's
nearest aspect ratio make a prediction (``Prefer: wait``); one still running is polled at ``urls.get``
until it finishes; the output URLs are OpenAI's ``data`` items. A prediction makes one image (the
predictions API has no image count: only some models take a ``num_outputs`` input, capped at 4, and
flux-pro, flux-1.1-pro, ideogram and recraft take none; one-api asks for one image too), so ``n`` images
(1 to MAX_IMAGES, OpenAI's limit) are ``n`` one-image predictions made concurrently (relay/native_images.py
joins them in order; if one fails the request fails and nothing is charged, and the predictions still
running are cancelled at their ``urls.cancel``). Billed as one-api does: ratio x 1000 quota per image, x n.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import orjson

from ...catalog.prices_cn import REPLICATE
from ...errors import RelayError, UpstreamFailure
from ...i18n import msg
from ..events import Answer, Event, Finish, StreamError, TextDelta
from ..upstream import UpstreamRequest
from .base import Call, ImageCall, ImageStep, Target, Usage, load_object, try_object
from .cn_common import (
    EventSSEReader,
    ProviderDecoder,
    WholeBodyReader,
    auth_failure,
    failure,
    last_text,
    messages_of,
    new_id,
    no_endpoint,
    number,
    obj,
    split_event,
    status_mapped,
    text_of,
    whole_answer_events,
)

DEFAULT_BASE = "https://api.replicate.com/v1/models"
PROVIDER = "Replicate"
IMAGE_OWNERS = ("black-forest-labs/", "ideogram-ai/", "recraft-ai/", "stability-ai/")
IMAGE_TOKENS = 1000  # prompt tokens reported per image
MAX_IMAGES = 10  # n of /v1/images/generations: OpenAI's limit, one prediction each
TERMINAL_FAILURES = ("failed", "canceled", "aborted")


def is_image_model(model: str) -> bool:
    return model.startswith(IMAGE_OWNERS) or "flux" in model


def predictions_url(target: Target, model: str) -> str:
    base = (target.base_url or DEFAULT_BASE).rstrip("/")
    if not base.endswith("/models"):
        base = f"{base}/v1/models" if not base.endswith("/v1") else f"{base}/models"
    return f"{base}/{model}/predictions"


def chat_input(body: dict) -> dict:
    lines, system = [], []
    for message in messages_of(body):
        text = text_of(message.get("content"))
        role = str(message.get("role") or "user")
        if role in ("system", "developer"):
            system.append(text)
        lines.append(f"{role}: {text}\n")
    out: dict = {"prompt": "".join(lines), "max_tokens": 500, "temperature": 1.0, "top_p": 1.0,
                 "presence_penalty": 0.0, "frequency_penalty": 0.0}
    if system:
        out["system_prompt"] = "\n".join(system)
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        out["max_tokens"] = max_tokens
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if isinstance(body.get(name), int | float) and not isinstance(body.get(name), bool):
            out[name] = body[name]
    return out


def image_input(body: dict) -> dict:
    return {"prompt": last_text(body), "aspect_ratio": "1:1"}


def _outputs(output: object) -> list[str]:
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [str(o) for o in output if o is not None]
    return []


def answer_of(call: Call, data: dict) -> Answer:
    status = str(data.get("status") or "")
    prediction = str(data.get("id") or "")
    if status in TERMINAL_FAILURES:
        detail = str(data.get("error") or status)
        raise failure(str(msg("relay.replicate_failed", id=prediction, status=status, detail=detail)), 502,
                      code="prediction_failed", retryable=False)
    if status != "succeeded":
        raise failure(str(msg("relay.replicate_pending", id=prediction, status=status or "?")), 504,
                      code="prediction_pending", retryable=False)
    outputs = _outputs(data.get("output"))
    answer = Answer(id=f"chatcmpl-{prediction}" if prediction else new_id(), model=call.model,
                    created=int(time.time()))
    metrics = obj(data.get("metrics"))
    if is_image_model(call.model):
        answer.text = "\n".join(f"![image]({url})" for url in outputs)
        count = number(metrics, "image_count") or len(outputs)
        answer.usage = Usage(IMAGE_TOKENS * count, 0) if count else None
    else:
        answer.text = "".join(outputs)
        prompt, completion = number(metrics, "input_token_count"), number(metrics, "output_token_count")
        answer.usage = Usage(prompt, completion) if prompt or completion else None
    return answer


class ReplicateFrames:
    """Frames of either answer a stream request gets: the stream URL's SSE (``event: output`` / ``error`` /
    ``done``; frames ``<event>\n<data>``), or one JSON prediction (image models, or a prediction without a
    stream URL) as a single frame starting with ``{``."""

    def __init__(self) -> None:
        self._sse: EventSSEReader | None = None
        self._whole = WholeBodyReader()
        self._decided = False

    def feed(self, chunk: bytes) -> list[bytes]:
        if not self._decided:
            head = chunk.lstrip()
            if not head:
                return []
            self._decided = True
            if not head.startswith(b"{"):
                self._sse = EventSSEReader()
        return self._sse.feed(chunk) if self._sse is not None else self._whole.feed(chunk)

    def finish(self) -> list[bytes]:
        return self._sse.finish() if self._sse is not None else self._whole.finish()


class ReplicateDecoder(ProviderDecoder):
    """Frames (ReplicateFrames) -> events: output text as it streams, or the finished prediction at once."""

    def __init__(self, call: Call) -> None:
        super().__init__(call.model)
        self.call = call
        self.finished = False

    def feed(self, frame: bytes) -> list[Event]:
        if frame.startswith(b"{"):
            return self._prediction(frame)
        event, data = split_event(frame)
        events = self.opening()
        if event == "output" and data:
            events.append(TextDelta(data.decode(errors="replace")))
        elif event == "error":
            detail = obj(try_object(data)).get("detail") or data.decode(errors="replace") or "prediction failed"
            events.append(StreamError(failure(str(detail), 502, code="prediction_failed", retryable=False)))
        elif event == "done" and not self.finished:
            self.finished = True
            reason = obj(try_object(data)).get("reason")
            if reason == "canceled":
                events.append(StreamError(failure("the Replicate prediction was canceled", 502,
                                                  code="prediction_failed", retryable=False)))
            else:
                events.append(Finish("stop"))
        return events

    def _prediction(self, frame: bytes) -> list[Event]:
        events = whole_answer_events(lambda: answer_of(self.call, load_object(frame)))
        if not isinstance(events[0], StreamError):
            self.started = self.finished = True
        return events


def stream_step(key: str) -> Callable[[bytes], UpstreamRequest | None]:
    """The created prediction -> the GET of its stream URL (None: no stream URL, answer with the prediction)."""

    def follow(body: bytes) -> UpstreamRequest | None:
        prediction = try_object(body) or {}
        url = obj(prediction.get("urls")).get("stream")
        if not isinstance(url, str) or not url or prediction.get("status") in TERMINAL_FAILURES:
            return None
        return UpstreamRequest("GET", url, {"Authorization": f"Bearer {key}", "Accept": "text/event-stream",
                                            "Cache-Control": "no-store"})

    return follow


ASPECT_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
POLL_SECONDS = 1.0  # between two reads of a prediction still running


def aspect_ratio(size: str) -> str | None:
    """OpenAI's ``WIDTHxHEIGHT`` -> the nearest aspect ratio Replicate's image models take (None: unreadable)."""
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()) or not int(width) or not int(height):
        return None
    wanted = int(width) / int(height)

    def distance(ratio: str) -> float:
        a, b = ratio.split(":")
        return abs(int(a) / int(b) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def image_step(target: Target, data: dict) -> ImageStep:
    """A prediction of an image model -> its images, or the GET that reads it again while it runs."""
    status, prediction = str(data.get("status") or ""), str(data.get("id") or "")
    if status in TERMINAL_FAILURES:
        detail = str(data.get("error") or status)
        raise failure(str(msg("relay.replicate_failed", id=prediction, status=status, detail=detail)), 502,
                      code="prediction_failed", retryable=False)
    if status == "succeeded":
        urls = _outputs(data.get("output"))
        if not urls:
            raise failure(str(msg("relay.empty_answer", provider=PROVIDER)), 502, code="prediction_failed",
                          retryable=False)
        return ImageStep([{"url": url} for url in urls])
    links = obj(data.get("urls"))
    again, cancel = links.get("get"), links.get("cancel")
    if not isinstance(again, str) or not again:
        raise failure(str(msg("relay.replicate_pending", id=prediction, status=status or "?")), 504,
                      code="prediction_pending", retryable=False)
    headers = {"Authorization": f"Bearer {target.key}", "Accept": "application/json"}
    stop = UpstreamRequest("POST", cancel, headers) if isinstance(cancel, str) and cancel else None
    return ImageStep(poll=UpstreamRequest("GET", again, headers), wait=POLL_SECONDS, cancel=stop)


def replicate_failure(status: int, body: bytes) -> UpstreamFailure:
    data = try_object(body) or {}
    message = str(data.get("detail") or data.get("title") or data.get("error") or f"Replicate answered {status}")
    if status == 401:
        return auth_failure(message)
    if status == 402:
        return failure(message, 402, kind="insufficient_quota", code="insufficient_quota", retryable=True)
    return status_mapped(status, body, message, "replicate_error", invalid=(400, 404, 422))


class ReplicateAdaptor:
    name = "replicate"
    family = "replicate"
    streams_json = True  # a stream request is answered with one JSON body (WholeBodyReader)
    models = tuple(REPLICATE)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise no_endpoint(PROVIDER, call.kind)
        url, headers = predictions_url(target, call.model), {"Authorization": f"Bearer {target.key}",
                                                              "Content-Type": "application/json"}
        if is_image_model(call.model):
            return UpstreamRequest("POST", url, {**headers, "Prefer": "wait"},
                                   orjson.dumps({"input": image_input(call.body)}))
        if call.stream:  # create with stream: true, then read its stream URL
            return UpstreamRequest("POST", url, headers, orjson.dumps({"input": chat_input(call.body), "stream": True}),
                                   follow=stream_step(target.key))
        return UpstreamRequest("POST", url, {**headers, "Prefer": "wait"}, orjson.dumps({"input": chat_input(call.body)}))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return answer_of(call, load_object(body))

    def decoder(self, call: Call) -> ReplicateDecoder:
        return ReplicateDecoder(call)

    def frame_reader(self) -> ReplicateFrames:
        return ReplicateFrames()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return replicate_failure(status, body)

    # -- /v1/images/generations ------------------------------------------------------------------------
    def check_image(self, image: ImageCall) -> None:
        if not 1 <= image.n <= MAX_IMAGES:
            raise RelayError(msg("media.bad_n", model=image.model, low=1, high=MAX_IMAGES), status=400,
                             code="n_not_within_range")
        if aspect_ratio(image.size) is None:
            raise RelayError(msg("media.bad_size_shape", size=image.size), status=400, code="size_not_supported")

    def split_image(self, image: ImageCall) -> list[ImageCall]:
        return [replace(image, n=1)] * image.n  # one image a prediction: n predictions, made concurrently

    def build_image_request(self, target: Target, image: ImageCall) -> UpstreamRequest:
        body = {"input": {"prompt": image.prompt, "aspect_ratio": aspect_ratio(image.size) or "1:1"}}
        headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json", "Prefer": "wait"}
        return UpstreamRequest("POST", predictions_url(target, image.model), headers, orjson.dumps(body))

    def parse_image_answer(self, target: Target, image: ImageCall, body: bytes) -> ImageStep:
        return image_step(target, load_object(body))
