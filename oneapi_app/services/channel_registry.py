"""The channel-type registry as the management side sees it, read from the relay's one place
(``oneapi_app.relay.channel_types``). Reads its ``CHANNEL_TYPES`` (or ``TYPES``) table: a type id mapped to
an object with ``name``/``base_url``, or to a ``(name, default_base_url)`` tuple."""

from __future__ import annotations

import importlib
from typing import Any


def _module() -> Any | None:
    try:
        return importlib.import_module("oneapi_app.relay.channel_types")
    except ImportError:
        return None


def _entry(value: Any) -> tuple[str, str]:
    if isinstance(value, (tuple, list)):
        name = str(value[0]) if value else ""
        base = str(value[1]) if len(value) > 1 and value[1] else ""
        return name, base
    if isinstance(value, dict):
        return str(value.get("name", "")), str(value.get("base_url") or value.get("default_base_url") or "")
    name = getattr(value, "name", "")
    base = getattr(value, "base_url", None) or getattr(value, "default_base_url", None) or ""
    return str(name), str(base)


def _table() -> dict:
    module = _module()
    for attr in ("CHANNEL_TYPES", "TYPES"):
        table = getattr(module, attr, None)
        if isinstance(table, dict):
            return table
    return {}


def channel_types() -> list[dict]:
    """[{id, name, default_base_url}] sorted by id; empty when the relay registry is not installed."""
    types = _table()
    rows = []
    for type_id, value in types.items():
        name, base = _entry(value)
        rows.append({"id": int(type_id), "name": name, "default_base_url": base})
    return sorted(rows, key=lambda r: r["id"])


def default_base_url(type_id: int) -> str:
    value = _table().get(type_id)
    return _entry(value)[1] if value is not None else ""


def default_models() -> dict[str, list[str]]:
    """GET /api/models: channel type (as a string) -> default model list, when the relay provides them."""
    module = _module()
    for attr in ("DEFAULT_MODELS", "MODELS_BY_TYPE"):
        table = getattr(module, attr, None)
        if isinstance(table, dict):
            return {str(k): list(v) for k, v in table.items()}
    func = getattr(module, "default_models", None)
    if callable(func):
        return {str(k): list(v) for k, v in func().items()}
    return {}


def type_info(type_id: int) -> dict:
    """name, default base URL, API family ("openai" unless the relay says otherwise) and URL rule of a type."""
    value = _table().get(type_id)
    name, base = _entry(value) if value is not None else ("", "")
    return {"name": name, "base_url": base, "family": str(getattr(value, "family", "openai") or "openai"),
            "url_rule": str(getattr(value, "url_rule", "path") or "path")}
