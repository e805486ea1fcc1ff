"""What the media endpoints accept and what they cost: pure functions of the request's fields and the price.

- images (generations, edits): One API's size whitelist, ``n`` range and prompt length per model
  (catalog/prices.py); quota = int(model ratio x group ratio x size multiplier x 1000) x n, dall-e-3 ``hd`` x2
  at 1024x1024 and x1.5 at the other sizes. Known before the call: reserved and charged exactly.
- speech: quota = input characters x ratio (tts-1 ratio 7.5 = $15 / 1M characters). Known before the call.
- transcriptions and translations: quota = tokens of the transcript x ratio (whisper-1 ratio 15: about
  $0.006 a minute of speech); One API counts the same tokens but forgets the ratio. PreConsumedQuota x ratio
  is reserved.
- rerank: quota = tokens of query + documents x ratio, from the upstream's usage when it reports one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import orjson

from ..catalog.prices import (
    IMAGE_HD_MULTIPLIER,
    IMAGE_N_LIMITS,
    IMAGE_PROMPT_LIMITS,
    IMAGE_SIZE_RATIOS,
    IMAGE_SIZES_ANY,
)
from ..errors import RelayError
from ..i18n import Text, msg
from ..services.pricing import Price

MediaKind = Literal["images", "image_edits", "speech", "transcriptions", "translations", "rerank"]
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
SPEECH_INPUT_LIMIT = 4096
DEFAULT_IMAGE_SIZE = "1024x1024"


def invalid(message: Text, code: str) -> RelayError:
    return RelayError(message, status=400, code=code)


def _integer(fields: dict, name: str, default: int) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise invalid(msg("relay.bad_integer", field=name), f"invalid_{name}")


@dataclass(frozen=True, slots=True)
class ImageJob:
    prompt: str
    n: int
    size: str
    quality: str


def image_job(fields: dict) -> ImageJob:
    """The fields of an image request (defaults as One API: n 1, size 1024x1024)."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise invalid(msg("media.field_required", field="prompt"), "prompt_missing")
    size = fields.get("size") or DEFAULT_IMAGE_SIZE
    quality = fields.get("quality") or ""
    for name, value in (("size", size), ("quality", quality)):
        if not isinstance(value, str):
            raise invalid(msg("media.expected_string", field=name), "invalid_image_request")
    return ImageJob(prompt, _integer(fields, "n", 1), size, quality)


def check_image(job: ImageJob, model: str) -> None:
    """One API's rules for ``model`` (the upstream model): size, prompt length, n."""
    sizes = IMAGE_SIZE_RATIOS.get(model)
    if sizes is not None and model not in IMAGE_SIZES_ANY and job.size not in sizes:
        raise invalid(msg("media.bad_size", size=job.size, model=model, sizes=", ".join(sizes)), "size_not_supported")
    limit = IMAGE_PROMPT_LIMITS.get(model)
    if limit is not None and len(job.prompt.encode()) > limit:
        raise invalid(msg("media.prompt_too_long", model=model, limit=limit), "prompt_too_long")
    low, high = IMAGE_N_LIMITS.get(model, (1, 100))  # a model One API does not list: at least 1, a sane cap
    if not low <= job.n <= high:
        raise invalid(msg("media.bad_n", model=model, low=low, high=high), "n_not_within_range")


def image_quota(job: ImageJob, model: str, price: Price) -> int:
    multiplier = IMAGE_SIZE_RATIOS.get(model, {}).get(job.size, 1.0)
    hd = IMAGE_HD_MULTIPLIER.get(model)
    if hd is not None and job.quality == "hd":
        multiplier *= hd[0] if job.size == DEFAULT_IMAGE_SIZE else hd[1]
    return int(round(price.ratio * multiplier * 1000, 6)) * job.n


def speech_input(fields: dict) -> str:
    text = fields.get("input")
    if not isinstance(text, str) or not text:
        raise invalid(msg("media.field_required", field="input"), "invalid_json")
    if len(text) > SPEECH_INPUT_LIMIT:
        raise invalid(msg("media.input_too_long", limit=SPEECH_INPUT_LIMIT), "text_too_long")
    return text


def transcript_format(fields: dict) -> str:
    value = fields.get("response_format") or "json"
    if value not in TRANSCRIPT_FORMATS:
        raise invalid(msg("media.bad_response_format", formats=", ".join(TRANSCRIPT_FORMATS)),
                      "unexpected_response_format")
    return value


def transcript_text(body: bytes, response_format: str) -> str | None:
    """The text of a transcription answer in its format; None when a JSON format does not parse."""
    if response_format in ("json", "verbose_json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        text = data.get("text") if isinstance(data, dict) else None
        return text if isinstance(text, str) else ""
    decoded = body.decode("utf-8", "replace")
    if response_format == "text":
        return decoded.removesuffix("\n")
    lines = []  # srt / vtt: the lines after a "-->" timing line
    take = False
    for line in decoded.splitlines():
        if take:
            lines.append(line)
            take = False
        elif "-->" in line:
            take = True
    return "".join(lines)


def rerank_texts(fields: dict) -> list[str]:
    """query + documents (strings or objects with ``text``) as the texts to count."""
    query = fields.get("query")
    if not isinstance(query, str) or not query:
        raise invalid(msg("media.field_required", field="query"), "invalid_rerank_request")
    documents = fields.get("documents")
    if not isinstance(documents, list) or not documents:
        raise invalid(msg("media.bad_documents"), "invalid_rerank_request")
    texts = [query]
    for doc in documents:
        if isinstance(doc, str):
            texts.append(doc)
        elif isinstance(doc, dict) and isinstance(doc.get("text"), str):
            texts.append(doc["text"])
        else:
            raise invalid(msg("media.bad_documents"), "invalid_rerank_request")
    return texts


def rerank_usage(body: bytes) -> int | None:
    """Input tokens an upstream reported for a rerank: Jina/OpenAI-style ``usage``, Cohere ``meta``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    usage = data.get("usage")
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "total_tokens", "input_tokens"):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    meta = data.get("meta")
    if isinstance(meta, dict):
        for section in ("tokens", "billed_units"):
            part = meta.get(section)
            value = part.get("input_tokens") if isinstance(part, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return math.ceil(value)
    return None
