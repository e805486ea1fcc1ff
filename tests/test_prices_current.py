"""Built-in prices of the models clients send today (list prices, 2025-2026), so a fresh install bills them right
instead of at one-api's fallback ratio 30 ($60 per million input tokens)."""

from __future__ import annotations

import pytest

from oneapi_app.catalog.channel_types import channel_type
from oneapi_app.relay.adaptors.base import Usage
from oneapi_app.services.options import Options
from oneapi_app.services.pricing import DEFAULT_MODEL_RATIO, completion_ratio, model_ratio, price_for

QUOTA_PER_USD = 500_000


def usd(model: str, prompt: int, completion: int, channel: int = 1) -> float:
    """What ``prompt`` + ``completion`` tokens cost in dollars at the built-in prices."""
    return price_for(Options(), model, channel, "default").charge(Usage(prompt, completion)) / QUOTA_PER_USD


@pytest.mark.parametrize(("model", "channel", "input_usd", "output_usd"), [
    ("claude-sonnet-4-6", 14, 3, 15), ("claude-sonnet-4-5", 14, 3, 15), ("claude-opus-4-7", 14, 5, 25),
    ("claude-opus-4-1", 14, 15, 75), ("claude-haiku-4-5", 14, 1, 5), ("claude-3-5-haiku-20241022", 14, 0.8, 4),
    ("gpt-5", 1, 1.25, 10), ("gpt-5-mini", 1, 0.25, 2), ("gpt-5.2", 1, 1.75, 14), ("gpt-5.4", 1, 2.5, 15),
    ("gpt-5.4-nano", 1, 0.2, 1.25), ("gpt-5.5", 1, 5, 30), ("gpt-4.1", 1, 2, 8), ("gpt-4o", 1, 2.5, 10),
    ("o3", 1, 2, 8), ("o4-mini", 1, 1.1, 4.4), ("gemini-3-pro-preview", 24, 2, 12),
    ("gemini-3-flash-preview", 24, 0.5, 3), ("gemini-2.5-pro", 24, 1.25, 10), ("deepseek-chat", 36, 0.28, 0.42),
])
def test_a_million_tokens_costs_the_list_price(model, channel, input_usd, output_usd):
    assert usd(model, 1_000_000, 0, channel) == pytest.approx(input_usd)
    assert usd(model, 0, 1_000_000, channel) == pytest.approx(output_usd)


def test_a_dated_snapshot_costs_its_model_and_stored_ratios_still_win():
    options = Options()
    assert model_ratio(options, "claude-opus-4-7-20260416", 14) == model_ratio(options, "claude-opus-4-7", 14)
    assert completion_ratio(options, "claude-opus-4-7-20260416", 14) == 5
    assert model_ratio(options, "no-such-model-20260101", 1) == DEFAULT_MODEL_RATIO
    migrated = Options(ModelRatio='{"gpt-4o": 2.5}', CompletionRatio='{"claude-opus-4-7": 4}')  # a one-api install
    assert model_ratio(migrated, "gpt-4o", 1) == 2.5
    assert completion_ratio(migrated, "claude-opus-4-7-20260416", 14) == 4


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-5.3-codex-spark", 8), ("gpt-5.7", 6), ("gpt-5.10-mini", 6), ("o4-mini-2026-01-01", 4),
    ("claude-sonnet-5-5", 5), ("claude-2.1", 3), ("gemini-3.5-pro", 6), ("gemini-2.5-flash-lite-001", 4),
    ("gemini-pro", 3), ("gpt-4.1-2026", 4),
])
def test_families_without_a_row_take_their_familys_output_ratio(model, expected):
    assert completion_ratio(Options(), model, 1) == pytest.approx(expected)


def test_current_models_are_offered_as_default_models():
    assert {"claude-sonnet-4-6", "claude-opus-4-7"} <= set(channel_type(14).default_models) | _catalogue("anthropic")
    assert {"gpt-5", "gpt-4.1", "o3"} <= _catalogue("openai")


def _catalogue(owner: str) -> set[str]:
    from oneapi_app.catalog.channel_types import model_owner
    from oneapi_app.catalog.prices import MODEL_RATIOS

    return {m for m in MODEL_RATIOS if model_owner(m) == owner}
