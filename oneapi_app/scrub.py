"""The one rule that removes secrets from an upstream's words before they are stored or shown.

Every path that keeps or shows what an upstream said -- relay errors, channel tests, balance queries, log rows,
notices to root -- passes the text through :func:`scrub_text` (or an error body through :func:`scrub_value`).
Two layers: the channel's own key (each line of a multi-key value, each ``|``-separated part such as AK|SK,
the string values of a JSON credential, and the secret values of its config such as an AWS session token, when
the caller passes them), and common secret shapes wherever they appear (``sk-...``, Google ``AIza...``, AWS
``AKIA...``/``ASIA...`` access key ids and STS session tokens, ``Bearer ...``, ``key=`` / ``token=`` query
parameters).

No dependencies beyond the standard library, so relay, services and pages can all import it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MASK = "***"
MIN_PART = 6  # shorter pieces of a key (a region, a version) are too common to replace blindly

_SHAPES = (
    # sk-..., sk_live_..., key-..., and masked echoes such as 'sk-abc***wxyz'
    (re.compile(r"\b(?:sk|key|AIza)[-_][A-Za-z0-9*._-]{5,}[A-Za-z0-9*]"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), MASK),  # Google API keys
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),  # AWS access key ids
    # AWS STS session tokens (temporary credentials): base64 with the service's known openings
    (re.compile(r"\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|FQoDYXdz|AQoDYXdz|AQoEXAMPLE)[A-Za-z0-9+/=]{16,}"),
     MASK),
    # Bearer credentials (with a digit, so prose like "Bearer authentication" stays)
    (re.compile(r"(?i)\b(Bearer)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{5,}[A-Za-z0-9=]"), r"\1 " + MASK),
    (re.compile(r"(?i)([?&;](?:api[_-]?key|key|access[_-]?token|token|secret|signature|sig|password)=)[^&\s\"'<>]+"),
     r"\1" + MASK),
)


def key_parts(*keys: str) -> list[str]:
    """The pieces of channel keys worth masking, longest first (so a part never unmasks a longer match)."""
    parts: set[str] = set()
    for key in keys:
        if not key:
            continue
        for line in key.splitlines() or [key]:
            line = line.strip()
            parts.add(line)
            parts.update(p.strip() for p in line.split("|"))
            parts.update(_json_strings(line))
        parts.update(_json_strings(key))
    return sorted((p for p in parts if len(p) >= MIN_PART), key=len, reverse=True)


def _json_strings(text: str) -> Iterable[str]:
    """String values of a JSON credential (e.g. a service account: private_key, client_secret...)."""
    if not text.lstrip().startswith("{"):
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    found: list[str] = []

    def walk(obj: object) -> None:
        if isinstance(obj, dict):
            for item in obj.values():
                walk(item)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)
        elif isinstance(obj, str) and len(obj) >= 16:
            found.append(obj)
            found.extend(line for line in obj.splitlines() if len(line) >= 16)  # PEM bodies, line by line

    walk(value)
    return found


def scrub_text(text: str, *keys: str) -> str:
    """``text`` with the given channel keys and every common secret shape replaced by ``***``."""
    if not text:
        return text
    for part in key_parts(*keys):
        if part in text:
            text = text.replace(part, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: object, *keys: str) -> object:
    """A JSON-like value (an upstream's error object) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub_text(value, *keys)
    if isinstance(value, dict):
        return {k: scrub_value(v, *keys) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, *keys) for v in value]
    return value
