"""Prices: model ratio x group ratio, completion ratio, and the quota arithmetic (spec section 4).

Ratio 1 = $0.002 / 1K tokens = 1000 quota per 1K tokens at QuotaPerUnit 500000. Admins override the built-in
tables through the ModelRatio / CompletionRatio / GroupRatio options (JSON); "{}" means the built-ins only.
Lookups are pure functions of (options, model, channel type); parsed option JSON is memoised by its text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import orjson

from ..catalog.prices import COMPLETION_RATIOS, MODEL_RATIOS
from .options import Options

USD = 500  # quota per $0.001 at ratio 1 ... one-api's constant names
RMB = 71  # one-api's integer 500/7
DEFAULT_MODEL_RATIO = 30.0

def _builtin_completion_ratio(name: str) -> float:
    if name.startswith("gpt-3.5"):
        if name == "gpt-3.5-turbo" or name.endswith("0125"):
            return 3
        if name.endswith("1106"):
            return 2
        return 4 / 3
    if name.startswith("gpt-4o"):
        return 3 if name == "gpt-4o-2024-05-13" else 4
    if name.startswith("gpt-4"):
        return 3 if name.startswith("gpt-4-turbo") or name.endswith("preview") else 2
    if name.startswith("o1"):
        return 4
    if name == "chatgpt-4o-latest":
        return 3
    if name.startswith("claude-3"):
        return 5
    if name.startswith("claude-"):
        return 3
    if name.startswith(("mistral-", "gemini-")):
        return 3
    if name.startswith("deepseek-"):
        return 2
    fixed = {"llama3-8b-8192": 2, "llama3-70b-8192": 0.79 / 0.59, "llama2-70b-4096": 1.25, "command": 2,
             "command-light": 2, "command-nightly": 2, "command-r": 3, "command-r-plus": 5, "grok-beta": 3}
    return fixed.get(name, 1)


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


def model_ratio(options: Options, model: str, channel_type: int) -> float:
    ratio = _lookup(options.ModelRatio, MODEL_RATIOS, _base_name(model), channel_type)
    return DEFAULT_MODEL_RATIO if ratio is None else ratio


def completion_ratio(options: Options, model: str, channel_type: int) -> float:
    model = _base_name(model)
    ratio = _lookup(options.CompletionRatio, COMPLETION_RATIOS, model, channel_type)
    return float(_builtin_completion_ratio(model)) if ratio is None else ratio


def group_ratio(options: Options, group: str) -> float:
    return float(_parse_map(options.GroupRatio).get(group, 1.0))


@dataclass(frozen=True, slots=True)
class Price:
    model_ratio: float
    group_ratio: float
    completion_ratio: float

    @property
    def ratio(self) -> float:
        return self.model_ratio * self.group_ratio

    def quota(self, prompt_tokens: int, completion_tokens: int) -> int:
        """ceil((prompt + completion x completion ratio) x ratio); at least 1 when anything was used."""
        if prompt_tokens + completion_tokens <= 0:
            return 0
        quota = math.ceil((prompt_tokens + completion_tokens * self.completion_ratio) * self.ratio)
        if self.ratio != 0 and quota <= 0:
            return 1
        return max(quota, 0)

    def reservation(self, pre_consumed: int, prompt_upper: int, max_tokens: int) -> int:
        """The amount held before the request: (PreConsumedQuota + prompt bound + max_tokens) priced."""
        quota = math.ceil((pre_consumed + prompt_upper + max_tokens * self.completion_ratio) * self.ratio)
        return max(quota, 0)

    def describe(self) -> str:
        return f"倍率：{self.model_ratio:.2f} × {self.group_ratio:.2f} × {self.completion_ratio:.2f}"


def price_for(options: Options, model: str, channel_type: int, group: str) -> Price:
    return Price(model_ratio(options, model, channel_type), group_ratio(options, group),
                 completion_ratio(options, model, channel_type))
