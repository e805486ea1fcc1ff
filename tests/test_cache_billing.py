"""Prompt-cache billing: cached input tokens (OpenAI cached_tokens, Anthropic cache reads) and cache writes
priced with their own ratios, the built-in defaults, and the CacheRatio / CacheWriteRatio options."""

from __future__ import annotations

import pytest

from oneapi_app.errors import ConfigError
from oneapi_app.relay.adaptors.base import Usage
from oneapi_app.services import options as option_service
from oneapi_app.services.options import Options, admin_view
from oneapi_app.services.pricing import Price, cache_ratio, cache_write_ratio, price_for

ROOT_ACCESS_TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def settings(make_settings):
    return make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN)


@pytest.mark.parametrize(("model", "read", "write"), [
    ("gpt-4o", 0.5, 1), ("gpt-4o-mini", 0.5, 1), ("o1-mini", 0.5, 1), ("o3-mini", 0.5, 1),
    ("gpt-4.1-mini", 0.25, 1), ("o3", 0.25, 1), ("gpt-5", 0.1, 1), ("claude-3-5-sonnet-20241022", 0.1, 1.25),
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", 0.1, 1.25),
    ("deepseek-chat", 0.1, 1), ("gemini-3-pro-preview", 0.1, 1), ("gemini-2.0-flash", 0.25, 1), ("gpt-4o-2024-05-13", 1, 1),
    ("gpt-3.5-turbo", 1, 1), ("some-local-model", 1, 1),
])
def test_builtin_cache_ratios(model, read, write):
    options = Options()
    assert cache_ratio(options, model, 1) == read
    assert cache_write_ratio(options, model, 14) == write


def test_openai_cached_tokens_cost_half_on_gpt_4o():
    price = price_for(Options(), "gpt-4o", 1, "default")  # ratio 1.25 ($2.50/M), completion 4, cache 0.5
    usage = Usage(prompt_tokens=1000, completion_tokens=20, cached_tokens=800)
    # (200 + 800 x 0.5 + 20 x 4) x 1.25 = 850; without the cache (1000 + 80) x 1.25 = 1350
    assert price.charge(usage) == 850
    assert price.charge(Usage(1000, 20)) == price.quota(1000, 20) == 1350
    assert "cache ratio 0.50" in price.describe(usage) and "cache" not in price.describe(Usage(1000, 20))


def test_anthropic_cache_reads_and_writes():
    price = price_for(Options(), "claude-3-5-sonnet-20241022", 14, "default")  # 1.5, completion 5
    # Anthropic: input 100 + cache reads 1000 + cache writes 2000 (prompt counts all three), output 50
    usage = Usage(prompt_tokens=3100, completion_tokens=50, cached_tokens=1000, cache_creation_tokens=2000)
    # (100 + 1000 x 0.1 + 2000 x 1.25 + 50 x 5) x 1.5 = 4425 quota = $0.00885: $3/M in, $0.30/M reads,
    # $3.75/M writes, $15/M out
    assert price.charge(usage) == 4425
    assert "cache write ratio 1.25" in price.describe(usage)


def test_charge_bounds_and_rounding():
    price = Price(model_ratio=1, group_ratio=1, completion_ratio=1, cache_ratio=0.1, cache_write_ratio=1.25)
    assert price.charge(Usage(0, 0)) == 0
    assert price.charge(Usage(10, 0, cached_tokens=50)) == 1  # cached never exceeds the prompt: 10 x 0.1
    assert price.charge(Usage(3, 0, cached_tokens=3)) == 1  # 0.3 -> at least 1
    exact = Price(model_ratio=0.1, group_ratio=3, completion_ratio=1)
    assert exact.quota(10, 0) == 3  # 0.1 x 3 x 10 is 3.0000000000000004 in floats: not 4
    assert Price(0, 1, 1).charge(Usage(10, 10, cached_tokens=5)) == 0


def test_cache_ratio_options_override_and_validate():
    options = Options(CacheRatio='{"gpt-4o": 0.3, "my-model(1)": 0.2}', CacheWriteRatio='{"claude-3-opus-20240229": 2}')
    assert cache_ratio(options, "gpt-4o", 1) == 0.3
    assert cache_ratio(options, "my-model", 1) == 0.2 and cache_ratio(options, "my-model", 8) == 1
    assert cache_write_ratio(options, "claude-3-opus-20240229", 14) == 2
    price = price_for(options, "gpt-4o", 1, "default")
    assert price.charge(Usage(1000, 0, cached_tokens=1000)) == 375  # 1000 x 0.3 x 1.25
    with pytest.raises(ConfigError):
        option_service._parse("CacheRatio", '{"gpt-4o": -1}')
    with pytest.raises(ConfigError):
        option_service._parse("CacheWriteRatio", '{"gpt-4o": "x"}')
    view = {row["key"]: row["value"] for row in admin_view(Options())}
    assert view["CacheRatio"].startswith("{") and "CacheWriteRatio" in view


async def test_cache_ratio_editable_through_api_option(runtime, client):
    root = {"Authorization": ROOT_ACCESS_TOKEN}
    resp = await client.put("/api/option/", json={"key": "CacheRatio", "value": '{"gpt-4o": 0.25}'}, headers=root)
    assert resp.json()["success"], resp.json()
    assert cache_ratio(runtime.options, "gpt-4o", 1) == 0.25
    resp = await client.put("/api/option/", json={"key": "CacheWriteRatio", "value": '{"x": -2}'}, headers=root)
    assert resp.json()["success"] is False and "CacheWriteRatio" in resp.json()["message"]
    resp = await client.get("/api/option/", headers=root)
    rows = {row["key"]: row["value"] for row in resp.json()["data"]}
    assert '"gpt-4o":0.25' in rows["CacheRatio"]


def test_anthropic_usage_object_to_quota():
    """The Anthropic adaptor's usage (message or message_start) priced: reads 0.1x, writes 1.25x."""
    from oneapi_app.relay.adaptors.anthropic_messages import usage_of

    usage = usage_of({"input_tokens": 100, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 2000,
                      "output_tokens": 50})
    assert usage is not None
    assert price_for(Options(), "claude-3-5-sonnet-20241022", 14, "default").charge(usage) == 4425
