"""Ali DashScope image generation (/v1/images/generations), as one-api's ali/image.go: the ImageMaker half for
the wanx and stable-diffusion models, on Ali (channel type 17) and Ali Bailian (type 49) channels alike -- the
same DashScope API on the same host (their chat goes through the OpenAI-compatible endpoint, the OpenAI
adaptor). The API root is the channel's base URL without the OpenAI-compatible suffix a channel may carry
(``https://dashscope.aliyuncs.com/compatible-mode/v1`` -> ``https://dashscope.aliyuncs.com``; the
international ``dashscope-intl`` host likewise).

- ``POST {base}/api/v1/services/aigc/text2image/image-synthesis`` with ``X-DashScope-Async: enable``:
  ``{"model", "input": {"prompt"}, "parameters": {"size": "1024*1024", "n"}}`` creates a task;
- ``GET {base}/api/v1/tasks/{task_id}`` every POLL_SECONDS until ``task_status`` is SUCCEEDED (its
  ``results`` URLs are OpenAI's ``data`` items), FAILED, CANCELED or UNKNOWN (a 502 with Ali's words);
- errors are ``{"code", "message", "request_id"}``: InvalidApiKey (401) disables the channel, Throttling
  (429) and 5xx are retried on another channel, the rest (bad parameters, content moderation) are the
  client's 400.

Billing is One API's image pricing (relay/media_rules.py): ratio x size ratio x 1000 per image, x n.
"""

from __future__ import annotations

import orjson

from ...errors import UpstreamFailure
from ...i18n import msg
from ..upstream import UpstreamRequest
from .base import ImageCall, ImageStep, Target, load_object, try_object
from .cn_common import auth_failure, base_url, failure, obj

DEFAULT_BASE = "https://dashscope.aliyuncs.com"
PROVIDER = "Ali DashScope"
POLL_SECONDS = 2.0  # one-api's interval between two reads of the task
FAILED = ("FAILED", "CANCELED", "UNKNOWN")


def dashscope_base(target: Target) -> str:
    """The DashScope API root: the channel's base URL (else the default host) without the OpenAI-compatible
    or native API suffix a channel may carry (``/compatible-mode/v1``, ``/api/v1``; trailing slashes too)."""
    base = base_url(target, DEFAULT_BASE)
    for suffix in ("/compatible-mode/v1", "/compatible-mode", "/api/v1"):
        base = base.removesuffix(suffix)
    return base


def ali_failure(status: int, body: bytes) -> UpstreamFailure:
    data = obj(try_object(body))
    code = str(data.get("code") or "")
    message = str(data.get("message") or f"{PROVIDER} answered {status}")
    if status == 401 or code in ("InvalidApiKey", "InvalidAPIKey"):
        return auth_failure(message, code or "invalid_api_key")
    if status == 429 or status >= 500:
        return failure(message, status if status >= 429 else 502, kind="ali_error", code=code)
    if status == 403:
        return failure(message, 403, kind="permission_error", code=code, retryable=True)
    return failure(message, 400 if status < 500 else status, kind="invalid_request_error", code=code, retryable=False)


def task_step(target: Target, data: dict) -> ImageStep:
    """A task answer (created or read) -> its images, or the GET that reads it again while it runs."""
    if data.get("code") or data.get("message"):  # an error with HTTP 200 (one-api: ali_async_task_failed)
        raise ali_failure(400 if data.get("code") != "InvalidApiKey" else 401, orjson.dumps(data))
    output = obj(data.get("output"))
    task, status = str(output.get("task_id") or ""), str(output.get("task_status") or "")
    if status == "SUCCEEDED":
        images = []
        for result in output.get("results") or ():
            if isinstance(result, dict) and result.get("url"):
                images.append({"url": str(result["url"])})
            elif isinstance(result, dict) and result.get("b64_image"):
                images.append({"b64_json": str(result["b64_image"])})
        if not images:
            raise failure(str(msg("relay.empty_answer", provider=PROVIDER)), 502, code="ali_async_task_failed",
                          retryable=False)
        return ImageStep(images)
    if status in FAILED or not task:
        detail = str(output.get("message") or output.get("code") or status or "no task id")
        raise failure(str(msg("media.task_failed", provider=PROVIDER, id=task, status=status or "?", detail=detail)),
                      502, kind="ali_error", code=str(output.get("code") or "ali_async_task_failed"), retryable=False)
    url = f"{dashscope_base(target)}/api/v1/tasks/{task}"
    return ImageStep(poll=UpstreamRequest("GET", url, {"Authorization": f"Bearer {target.key}",
                                                       "Accept": "application/json"}), wait=POLL_SECONDS)


class AliImageAdaptor:
    name = "ali"
    family = "openai"

    def check_image(self, image: ImageCall) -> None:
        return None  # wanx's sizes, n and prompt length are One API's rules (relay/media_rules.py)

    def split_image(self, image: ImageCall) -> list[ImageCall]:
        return [image]  # one task makes the n images (``parameters.n``)

    def build_image_request(self, target: Target, image: ImageCall) -> UpstreamRequest:
        given: dict[str, str] = {"prompt": image.prompt}
        negative = image.body.get("negative_prompt")
        if isinstance(negative, str) and negative:
            given["negative_prompt"] = negative
        body = {"model": image.model, "input": given,
                "parameters": {"size": image.size.replace("x", "*"), "n": image.n}}
        headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json",
                   "Accept": "application/json", "X-DashScope-Async": "enable"}
        url = f"{dashscope_base(target)}/api/v1/services/aigc/text2image/image-synthesis"
        return UpstreamRequest("POST", url, headers, orjson.dumps(body))

    def parse_image_answer(self, target: Target, image: ImageCall, body: bytes) -> ImageStep:
        return task_step(target, load_object(body))

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return ali_failure(status, body)
