"""Review of the Anthropic and Gemini adaptors against issue 14's checklist, with JSON fixtures:
reasoning_effort -> thinking (both providers), thinking -> reasoning_content (answers and streams), cached
and reasoning tokens in usage, stop reasons."""

from __future__ import annotations

from pathlib import Path

import orjson

from oneapi_app.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi_app.relay.adaptors.base import Target
from oneapi_app.relay.adaptors.gemini import GeminiAdaptor
from oneapi_app.relay.dialects.chat import CHAT
from oneapi_app.relay.events import Finish, ReasoningDelta

from .cn_helpers import call, decode, last_usage, text

FIXTURES = Path(__file__).parent / "fixtures" / "provider_gaps"
ANTHROPIC, GEMINI = AnthropicAdaptor(), GeminiAdaptor()
SONNET = "claude-sonnet-4-20250514"


def _sent(adaptor, target: Target, body: dict, stream: bool = False) -> dict:
    return orjson.loads(adaptor.build_request(target, call(body, stream=stream)).body)


def test_anthropic_reasoning_effort_turns_thinking_on():
    target = Target(14, "", "k")
    body = {"model": SONNET, "messages": [{"role": "user", "content": "2+2?"}], "reasoning_effort": "high",
            "temperature": 0.3, "max_tokens": 1000}
    sent = _sent(ANTHROPIC, target, body)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    assert "temperature" not in sent and sent["max_tokens"] > 24576  # thinking takes no temperature
    # a model without extended thinking, or no effort asked: no thinking
    assert "thinking" not in _sent(ANTHROPIC, target, {**body, "model": "claude-3-5-sonnet-20241022"})
    assert "thinking" not in _sent(ANTHROPIC, target, {k: v for k, v in body.items() if k != "reasoning_effort"})
    # a tool loop (the previous turn's signed thinking cannot come back from an OpenAI client): no thinking
    loop = {**body, "messages": [*body["messages"],
                                 {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function",
                                                                       "function": {"name": "f", "arguments": "{}"}}]},
                                 {"role": "tool", "tool_call_id": "t1", "content": "4"}]}
    assert "thinking" not in _sent(ANTHROPIC, target, loop)


def test_anthropic_thinking_comes_back_as_reasoning_content_with_cached_tokens():
    body = (FIXTURES / "anthropic_thinking_response.json").read_bytes()
    answer = ANTHROPIC.parse_answer(call({"model": SONNET}), body, "application/json")
    assert answer.reasoning == "Let me add 2 and 2." and answer.text == "4" and answer.finish_reason == "length"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.cached_tokens) == (120, 30, 100)
    encoded = orjson.loads(CHAT.encode_answer(answer, SONNET))
    message = encoded["choices"][0]["message"]
    assert message["reasoning_content"] == "Let me add 2 and 2." and message["content"] == "4"
    assert encoded["usage"]["prompt_tokens_details"]["cached_tokens"] == 100
    assert encoded["choices"][0]["finish_reason"] == "length"


def test_anthropic_thinking_stream_becomes_reasoning_deltas():
    events = decode(ANTHROPIC, call({"model": SONNET}, stream=True),
                    (FIXTURES / "anthropic_thinking_stream.txt").read_bytes(), chunk=37)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Let me add 2 and 2."
    assert text(events) == "4" and [e.reason for e in events if isinstance(e, Finish)] == ["stop"]
    usage = last_usage(events)
    assert usage is not None and usage.cached_tokens == 100 and usage.completion_tokens == 30


def test_gemini_reasoning_effort_sets_the_thinking_budget():
    target = Target(24, "", "k")
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "2+2?"}], "reasoning_effort": "low"}
    sent = _sent(GEMINI, target, body)
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
    off = _sent(GEMINI, target, {**body, "reasoning_effort": "none"})
    assert off["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0, "includeThoughts": False}
    pro = _sent(GEMINI, target, {**body, "model": "gemini-2.5-pro", "reasoning_effort": "none"})
    assert pro["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 128  # Pro cannot turn it off
    assert "thinkingConfig" not in _sent(GEMINI, target, {**body, "model": "gemini-1.5-pro"}).get(
        "generationConfig", {})


def test_gemini_thoughts_come_back_as_reasoning_with_cached_and_reasoning_tokens():
    body = (FIXTURES / "gemini_thinking_response.json").read_bytes()
    answer = GEMINI.parse_answer(call({"model": "gemini-2.5-flash"}), body, "application/json")
    assert answer.reasoning == "Adding the numbers." and answer.text == "4" and answer.finish_reason == "length"
    encoded = orjson.loads(CHAT.encode_answer(answer, "gemini-2.5-flash"))
    assert encoded["choices"][0]["message"]["reasoning_content"] == "Adding the numbers."
    usage = encoded["usage"]
    assert usage["completion_tokens"] == 41 and usage["completion_tokens_details"]["reasoning_tokens"] == 40
    assert usage["prompt_tokens"] == 20 and usage["prompt_tokens_details"]["cached_tokens"] == 16
