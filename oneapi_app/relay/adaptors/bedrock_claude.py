"""Claude on the cloud platforms: the Messages body that AWS Bedrock (``/model/{id}/invoke``) and Vertex AI
(``publishers/anthropic/models/{model}:rawPredict``) take, built with the Anthropic adaptor's conversion
(anthropic_messages.py): no ``model`` field (it is in the URL), the platform's ``anthropic_version``.

``reasoning_effort`` (OpenAI) turns extended thinking on for the Claude models that have it, with a budget
per effort (not in a tool loop: see ``_in_tool_loop``); an Anthropic-style ``thinking`` object in the body is
passed as it is. The Anthropic adaptor (type 14) uses the same mapping. Thinking takes no
temperature, top_k or top_p below 0.95, so those are dropped, and ``max_tokens`` is raised above the budget.
"""

from __future__ import annotations

import re

from .anthropic_messages import MAX_TOKENS_CAP, convert_request

BEDROCK_VERSION = "bedrock-2023-05-31"
VERTEX_VERSION = "vertex-2023-10-16"
THINKING_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
_THINKING_MODELS = re.compile(r"claude-3-7|claude-(opus|sonnet|haiku)-4|claude-(opus|sonnet|haiku)-[5-9]")


def has_thinking(model: str) -> bool:
    return bool(_THINKING_MODELS.search(model))


def thinking_of(body: dict, model: str) -> dict | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "disabled"):
        return thinking
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in THINKING_BUDGET and has_thinking(model) and not _in_tool_loop(body):
        return {"type": "enabled", "budget_tokens": THINKING_BUDGET[effort]}
    return None


def _in_tool_loop(body: dict) -> bool:
    """The conversation ends with tool results: with thinking on, Anthropic wants the previous turn's signed
    thinking block back, which an OpenAI client cannot send -- that turn is answered without thinking."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    return isinstance(last, dict) and last.get("role") in ("tool", "function")


def claude_body(body: dict, model: str, version: str, stream: bool) -> dict:
    """An OpenAI chat body -> the Messages body of Claude on Bedrock / Vertex (``stream`` only on Vertex,
    whose streamRawPredict needs it; Bedrock streams by its URL)."""
    out = convert_request(body, model, stream)
    out.pop("model", None)
    return with_thinking({"anthropic_version": version, **out}, body, model)


TOOL_REQUIRED_INSTRUCTION = "Answer by calling {tool}."


def with_thinking(out: dict, body: dict, model: str) -> dict:
    """A Messages body with extended thinking as ``body`` asks it (``reasoning_effort`` or ``thinking``)."""
    thinking = thinking_of(body, model)
    if thinking is not None:
        out["thinking"] = thinking
        budget = thinking.get("budget_tokens")
        if thinking.get("type") == "enabled" and isinstance(budget, int):
            out.pop("temperature", None)
            out.pop("top_k", None)
            if isinstance(out.get("top_p"), int | float) and out["top_p"] < 0.95:
                out.pop("top_p")
            if out["max_tokens"] <= budget:
                out["max_tokens"] = min(budget + out["max_tokens"], MAX_TOKENS_CAP)
        choice = out.get("tool_choice")
        if thinking.get("type") == "enabled" and isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            # with thinking Anthropic takes only auto/none (a forced choice is a 400): the model is asked instead
            out["tool_choice"] = {"type": "auto"}
            ask = TOOL_REQUIRED_INSTRUCTION.format(tool=choice.get("name") or "one of the tools")
            out["system"] = f"{out['system']}\n\n{ask}" if out.get("system") else ask
    return out
