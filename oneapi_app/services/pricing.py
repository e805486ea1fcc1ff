"""Prices: model ratio x group ratio, completion ratio, cache ratios, and the quota arithmetic (spec section 4).

Ratio 1 = $0.002 / 1K tokens = 1000 quota per 1K tokens at QuotaPerUnit 500000. Admins override the built-in
tables through the ModelRatio / CompletionRatio / GroupRatio options (JSON); "{}" means the built-ins only.

Prompt caching: the prompt tokens an upstream read from its cache (OpenAI ``cached_tokens``, Anthropic
``cache_read_input_tokens``) cost ``cache ratio`` x an input token, the ones written to it (Anthropic
``cache_creation_input_tokens``) ``cache write ratio`` x; the CacheRatio / CacheWriteRatio options override the
built-in tables (catalog/prices.py) and the providers' published discounts below.
Lookups are pure functions of (options, model, channel type); parsed option JSON is memoised by its text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import orjson

from ..catalog.prices import CACHE_RATIOS, CACHE_WRITE_RATIOS, COMPLETION_RATIOS, MODEL_RATIOS
from .options import Options

USD = 500  # quota per $0.001 at ratio 1 ... one-api's constant names
RMB = 71  # one-api's integer 500/7
DEFAULT_MODEL_RATIO = 30.0
DIGITS = 9  # quota arithmetic is rounded here before ceil (0.1 + 0.2 must not cost one more quota)

def _builtin_completion_ratio(name: str) -> float:
    """Output price / input price by model family, for a name with no row in the tables: one-api's rules, with
    the families it predates (o3/o4, GPT-4.1/4.5/5, Claude 4 and later, Gemini 2.5 and 3) at their list prices."""
    if name.startswith("gpt-3.5"):
        if name == "gpt-3.5-turbo" or name.endswith("0125"):
            return 3
        if name.endswith("1106"):
            return 2
        return 4 / 3
    if name.startswith("gpt-4o"):
        return 3 if name == "gpt-4o-2024-05-13" else 4
    if name.startswith("gpt-4.1"):
        return 4
    if name.startswith("gpt-4.5"):
        return 2
    if name.startswith("gpt-4"):
        return 3 if name.startswith("gpt-4-turbo") or name.endswith("preview") else 2
    if name.startswith("gpt-5"):
        minor = name[6:].split("-", 1)[0] if name.startswith("gpt-5.") else ""
        return 6 if minor.isdigit() and int(minor) >= 4 else 8  # gpt-5.4 and later: 6
    if name.startswith(("o1", "o3", "o4")):
        return 4
    if name == "chatgpt-4o-latest":
        return 3
    if name.startswith(("claude-2", "claude-instant")):
        return 3
    if name.startswith("claude-"):
        return 5
    if name.startswith("gemini-"):
        return _gemini_completion_ratio(name)
    if name.startswith("mistral-"):
        return 3
    if name.startswith("deepseek-"):
        return 2
    fixed = {"llama3-8b-8192": 2, "llama3-70b-8192": 0.79 / 0.59, "llama2-70b-4096": 1.25, "command": 2,
             "command-light": 2, "command-nightly": 2, "command-r": 3, "command-r-plus": 5, "grok-beta": 3}
    return fixed.get(name, 1)


def _gemini_completion_ratio(name: str) -> float:
    if name.startswith(("gemini-2.5-pro", "gemini-2.5-flash-preview")):
        return 8
    if name.startswith("gemini-2.5-flash-lite"):
        return 4
    if name.startswith("gemini-2.5-flash"):
        return 2.5 / 0.3
    if name.startswith("gemini-3"):
        return 6
    if name.startswith(("gemini-1.5", "gemini-2.0")):
        return 4
    return 3  # gemini-pro / 1.0: one-api's


def _builtin_cache_ratio(name: str) -> float:
    """A cache read's price / an input token's, by model family (the providers' published prices)."""
    if name.startswith("gpt-5") or "claude" in name:  # Claude also by its Bedrock ids (anthropic.claude-...)
        return 0.1
    if name.startswith(("deepseek-", "gemini-3")):  # a cache hit: DeepSeek V3.2 $0.028 of $0.28, Gemini 3 1/10
        return 0.1
    if name.startswith(("gpt-4.1", "o3", "o4", "gemini-")) and not name.startswith("o3-mini"):
        return 0.25
    if name.startswith(("gpt-4o", "o1", "o3-mini")):
        return 0.5
    return 1


def _builtin_cache_write_ratio(name: str) -> float:
    """A cache write's price / an input token's: Anthropic's 5-minute cache writes cost 1.25x."""
    return 1.25 if "claude" in name else 1


@lru_cache(maxsize=64)
def _parse_map(text: str) -> dict[str, float]:
    try:
        value = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    return {k: float(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _base_name(model: str) -> str:
    if model.endswith("-internet") and model.startswith(("qwen-", "command-")):
        return model.removesuffix("-internet")
    return model


def _lookup(custom_json: str, builtin: dict, model: str, channel_type: int) -> float | None:
    """one-api's order: "<model>(<type>)" in the option, then built-in, then "<model>" in the option, then built-in."""
    custom = _parse_map(custom_json)
    typed = f"{model}({channel_type})"
    for table, key in ((custom, typed), (builtin, typed), (custom, model), (builtin, model)):
        if key in table:
            return float(table[key])
    return None


def _undated(model: str) -> str | None:
    """``claude-opus-4-7-20260101`` -> ``claude-opus-4-7``: a dated snapshot priced as its model when only the
    model has a row (providers publish one price per model)."""
    stem, _, date = model.rpartition("-")
    return stem if stem and len(date) == 8 and date.isdigit() else None


def model_ratio(options: Options, model: str, channel_type: int) -> float:
    model = _base_name(model)
    ratio = _lookup(options.ModelRatio, MODEL_RATIOS, model, channel_type)
    if ratio is None and (stem := _undated(model)) is not None:
        ratio = _lookup(options.ModelRatio, MODEL_RATIOS, stem, channel_type)
    return DEFAULT_MODEL_RATIO if ratio is None else ratio


def completion_ratio(options: Options, model: str, channel_type: int) -> float:
    model = _base_name(model)
    ratio = _lookup(options.CompletionRatio, COMPLETION_RATIOS, model, channel_type)
    if ratio is None and (stem := _undated(model)) is not None:
        ratio = _lookup(options.CompletionRatio, COMPLETION_RATIOS, stem, channel_type)
    return float(_builtin_completion_ratio(model)) if ratio is None else ratio


def cache_ratio(options: Options, model: str, channel_type: int) -> float:
    model = _base_name(model)
    ratio = _lookup(options.CacheRatio, CACHE_RATIOS, model, channel_type)
    return float(_builtin_cache_ratio(model)) if ratio is None else ratio


def cache_write_ratio(options: Options, model: str, channel_type: int) -> float:
    model = _base_name(model)
    ratio = _lookup(options.CacheWriteRatio, CACHE_WRITE_RATIOS, model, channel_type)
    return float(_builtin_cache_write_ratio(model)) if ratio is None else ratio


def group_ratio(options: Options, group: str) -> float:
    return float(_parse_map(options.GroupRatio).get(group, 1.0))


class UsageLike(Protocol):
    """What an upstream reported (relay/adaptors/base.Usage): prompt tokens count the cached ones too."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_creation_tokens: int


@dataclass(frozen=True, slots=True)
class Price:
    model_ratio: float
    group_ratio: float
    completion_ratio: float
    cache_ratio: float = 1.0
    cache_write_ratio: float = 1.0

    @property
    def ratio(self) -> float:
        return self.model_ratio * self.group_ratio

    def quota(self, prompt_tokens: int, completion_tokens: int) -> int:
        """ceil((prompt + completion x completion ratio) x ratio); at least 1 when anything was used."""
        return self._quota(prompt_tokens, prompt_tokens, completion_tokens)

    def charge(self, usage: UsageLike) -> int:
        """The quota of a request's usage: the prompt's cached part at the cache ratio, its cache-written part
        at the cache write ratio, the rest at full price; ceil, at least 1 when anything was used."""
        prompt, completion = max(usage.prompt_tokens, 0), max(usage.completion_tokens, 0)
        cached = min(max(usage.cached_tokens, 0), prompt)
        written = min(max(usage.cache_creation_tokens, 0), prompt - cached)
        weighted = prompt - cached - written + cached * self.cache_ratio + written * self.cache_write_ratio
        return self._quota(prompt, weighted, completion)

    def _quota(self, prompt_tokens: int, weighted_prompt: float, completion_tokens: int) -> int:
        if prompt_tokens + completion_tokens <= 0:
            return 0
        quota = math.ceil(round((weighted_prompt + completion_tokens * self.completion_ratio) * self.ratio, DIGITS))
        if self.ratio != 0 and quota <= 0:
            return 1
        return max(quota, 0)

    def units(self, count: float) -> int:
        """``count`` units (characters of speech, ...) at the ratio, rounded up."""
        return max(math.ceil(round(count * self.ratio, DIGITS)), 0)

    def reservation(self, pre_consumed: int, prompt_upper: int, max_tokens: int) -> int:
        """The amount held before the request: (PreConsumedQuota + prompt bound + max_tokens) priced."""
        quota = math.ceil((pre_consumed + prompt_upper + max_tokens * self.completion_ratio) * self.ratio)
        return max(quota, 0)

    def describe(self, usage: UsageLike | None = None) -> str:
        """The log row's content: the ratios, and the cache ratios when the usage has cached tokens."""
        text = f"倍率：{self.model_ratio:.2f} × {self.group_ratio:.2f} × {self.completion_ratio:.2f}"
        if usage is not None and usage.cached_tokens:
            text += f"，cache ratio {self.cache_ratio:.2f}"
        if usage is not None and usage.cache_creation_tokens:
            text += f"，cache write ratio {self.cache_write_ratio:.2f}"
        return text


def price_for(options: Options, model: str, channel_type: int, group: str) -> Price:
    return Price(model_ratio(options, model, channel_type), group_ratio(options, group),
                 completion_ratio(options, model, channel_type), cache_ratio(options, model, channel_type),
                 cache_write_ratio(options, model, channel_type))
