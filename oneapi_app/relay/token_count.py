"""Local token counts with tiktoken, offline: the encodings ship in oneapi_app/data/ (never downloaded).

Used only when an upstream reports no usage (and for what a stream delivered before it broke), and for
the prompt of a request whose cheap reservation (a byte bound, no tokenizer) was refused: it is then
reserved from the exact count (pipeline._reserve), off the event loop.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_ENDOFTEXT, _FIM_PREFIX, _FIM_MIDDLE, _FIM_SUFFIX, _ENDOFPROMPT = (
    "<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>")

_SPECS = {
    "cl100k_base": (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {_ENDOFTEXT: 100257, _FIM_PREFIX: 100258, _FIM_MIDDLE: 100259, _FIM_SUFFIX: 100260, _ENDOFPROMPT: 100276},
    ),
    "o200k_base": (
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join([  # noqa: FLY002 -- one alternative of the regex a line
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]),
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
}
_lock = threading.Lock()


@lru_cache(maxsize=2)
def encoding(name: str) -> tiktoken.Encoding:
    expected_hash, pat_str, special = _SPECS[name]
    with _lock:
        ranks = load_tiktoken_bpe(str(DATA_DIR / f"{name}.tiktoken"), expected_hash=expected_hash)
    return tiktoken.Encoding(name=name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special)


def encoding_for(model: str) -> tiktoken.Encoding:
    if model.startswith(("gpt-4o", "o1", "o3", "o4", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-4o")):
        return encoding("o200k_base")
    return encoding("cl100k_base")


def count_text(text: str, model: str) -> int:
    if not text:
        return 0
    return len(encoding_for(model).encode(text, disallowed_special=()))


def count_messages(messages: object, model: str) -> int:
    """One-api's chat count: 3 per message (+1 with a name) + role + text parts, + 3 for the reply primer."""
    if not isinstance(messages, list):
        return 0
    enc = encoding_for(model)
    per_message, per_name = (4, -1) if model == "gpt-3.5-turbo-0301" else (3, 1)
    total = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += per_message
        for key, value in message.items():
            if key == "content":
                total += _count_content(value, enc, model)
            elif isinstance(value, str) and key in ("role", "name"):
                total += len(enc.encode(value, disallowed_special=()))
                if key == "name":
                    total += per_name
    return total + 3


def _count_content(content: object, enc: tiktoken.Encoding, model: str) -> int:
    if isinstance(content, str):
        return len(enc.encode(content, disallowed_special=()))
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            total += len(enc.encode(part["text"], disallowed_special=()))
        elif part.get("type") == "image_url":
            # Images are not fetched: the high-detail cost of a 1024x1024 image (4 tiles) bounds it.
            detail = (part.get("image_url") or {}).get("detail") if isinstance(part.get("image_url"), dict) else None
            mini = model.startswith("gpt-4o-mini")
            if detail == "low":
                total += 2833 if mini else 85
            else:
                total += (5667 * 4 + 2833) if mini else (170 * 4 + 85)
    return total


def count_prompt(body: dict, model: str, kind: str) -> int:
    """The local prompt count of a parsed request body, per endpoint kind (spec section 4)."""
    if kind == "chat":
        return count_messages(body.get("messages"), model)
    if kind == "completions":
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            return count_text(prompt, model)
        if isinstance(prompt, list):  # one-api counts arrays as 0; count their strings
            return sum(count_text(p, model) for p in prompt if isinstance(p, str))
        return 0
    if kind in ("moderations", "embeddings"):
        value = body.get("input")
        if isinstance(value, str):
            return count_text(value, model)
        if isinstance(value, list):
            return sum(count_text(p, model) for p in value if isinstance(p, str))
        return 0
    if kind == "edits":
        return count_text(str(body.get("instruction") or ""), model) + count_text(str(body.get("input") or ""), model)
    return 0
