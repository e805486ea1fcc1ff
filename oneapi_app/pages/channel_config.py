"""Pure helpers of the Channels page's editor: the per-type fields of the channel-type registry as the page
shows them, and the channel's config JSON put together from the raw JSON editor, the per-type fields and the
secret fields of the form. Nothing here touches state or the database."""

from __future__ import annotations

import json

from ..i18n import MESSAGES, t
from ..services.channel_registry import channel_types
from .common import UiError


def _text(msg_id: str, fallback: str, lang: str) -> str:
    """The table's text of ``msg_id`` when it has one, else the registry's own (English) words."""
    return t(msg_id, lang) if msg_id in MESSAGES else fallback


def _label(type_id: int, field: dict, lang: str) -> str:
    """A field's label: the type's own wording (``channels.field.<type>.<key>``), else the key's, else the
    registry's; a required field is marked with *."""
    typed = f"channels.field.{type_id}.{field['key']}"
    label = t(typed, lang) if typed in MESSAGES else _text(f"channels.field.{field['key']}", field["label"], lang)
    return label + (" *" if field["required"] else "")


def type_options() -> list[dict[str, str]]:
    """The type picker's options: every type but Unknown; ``retired`` "1" for the types no longer offered (the
    page adds the translated " (retired)")."""
    return [{"id": str(kind["id"]), "name": kind["name"], "retired": "1" if kind["retired"] else ""}
            for kind in channel_types() if kind["id"] != 0]


def type_details(type_id: str, lang: str = "en") -> dict:
    """base URL hint, key hint, retired note and the fields (as strings, for the page's state) of a type, in
    ``lang`` (the registry declares them in English; the table's ``channels.field.*`` ids translate them)."""
    wanted = int(type_id) if str(type_id).isdigit() else 1
    kind = next((k for k in channel_types() if k["id"] == wanted), None) or channel_types()[1]
    tid = kind["id"]
    fields = [{"key": f["key"], "placeholder": f["placeholder"], "label": _label(tid, f, lang),
               "secret": "1" if f["secret"] else "", "multiline": "1" if f["multiline"] else ""}
              for f in kind["fields"]]
    retired = _text(f"channels.retired.{tid}", kind["retired"], lang) if kind["retired"] else ""
    return {"base_url": kind["default_base_url"], "key_hint": _text(f"channels.keyhint.{tid}", kind["key_hint"], lang),
            "retired": retired, "fields": fields}


def parse_config(text: str) -> dict:
    """The raw editor's JSON as a dict ({} when empty); a UiError (a ValueError) with a clear message otherwise."""
    if not (text or "").strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise UiError("channels.config_not_object") from None
    if not isinstance(data, dict):
        raise UiError("channels.config_not_object")
    return data


def field_values(config: dict, fields: list[dict]) -> dict[str, str]:
    """The non-secret per-type fields' values found in a config."""
    return {f["key"]: str(config.get(f["key"]) or "") for f in fields if not f["secret"]}


def merged_config(raw: str, fields: list[dict], values: dict[str, str], secrets: dict[str, str]) -> str:
    """The config to store: the raw JSON, with the per-type fields' values over it (an empty field removes its
    key) and the secret fields typed in the form (an empty secret is sent as "" when the config had the key, so
    the service keeps the stored value; else left out)."""
    config = parse_config(raw)
    for f in fields:
        key = f["key"]
        if f["secret"]:
            typed = (secrets.get(key) or "").strip()
            if typed:
                config[key] = typed
            continue
        value = (values.get(key) or "").strip()
        if value:
            config[key] = value
        else:
            config.pop(key, None)
    return json.dumps(config, ensure_ascii=False) if config else ""


def pretty(config: str) -> str:
    try:
        data = json.loads(config or "")
    except ValueError:
        return config or ""
    return json.dumps(data, ensure_ascii=False, indent=2) if isinstance(data, dict) and data else ""
