"""Pure helpers of the Channels page's editor: the per-type fields of the channel-type registry as the page
shows them, and the channel's config JSON put together from the raw JSON editor, the per-type fields and the
secret fields of the form. Nothing here touches state or the database."""

from __future__ import annotations

import json

from ..services.channel_registry import channel_types

CONFIG_NOT_OBJECT = "The config must be a JSON object, e.g. {\"region\": \"us-east-1\"}."
RETIRED_SUFFIX = " (retired)"


def type_options() -> list[dict[str, str]]:
    """The type picker's options: every type but Unknown; retired types say so."""
    return [{"id": str(t["id"]), "name": t["name"] + (RETIRED_SUFFIX if t["retired"] else "")}
            for t in channel_types() if t["id"] != 0]


def type_details(type_id: str) -> dict:
    """base URL hint, key hint, retired note and the fields (as strings, for the page's state) of a type."""
    wanted = int(type_id) if str(type_id).isdigit() else 1
    kind = next((t for t in channel_types() if t["id"] == wanted), None) or channel_types()[1]
    fields = [{"key": f["key"], "label": f["label"] + (" *" if f["required"] else ""), "placeholder": f["placeholder"],
               "secret": "1" if f["secret"] else "", "multiline": "1" if f["multiline"] else ""}
              for f in kind["fields"]]
    return {"base_url": kind["default_base_url"], "key_hint": kind["key_hint"], "retired": kind["retired"],
            "fields": fields}


def parse_config(text: str) -> dict:
    """The raw editor's JSON as a dict ({} when empty); ValueError with a clear message otherwise."""
    if not (text or "").strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(CONFIG_NOT_OBJECT) from None
    if not isinstance(data, dict):
        raise ValueError(CONFIG_NOT_OBJECT)  # noqa: TRY004 - shown to the admin as a ValueError's text
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
