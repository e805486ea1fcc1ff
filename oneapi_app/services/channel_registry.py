"""The channel-type registry as the management side sees it, read from the catalogue the relay reads too
(``oneapi_app.catalog.channel_types``): the types the dashboard offers, their default base URLs and model lists."""

from __future__ import annotations

from collections import defaultdict

from ..catalog.channel_types import CHANNEL_TYPES, OWNER_TYPES, channel_type, model_owner
from ..catalog.prices import MODEL_RATIOS
from ..catalog.prices_cloud import CLOUD_DEFAULT_MODELS
from ..catalog.prices_cn import DEFAULT_MODELS as CN_DEFAULT_MODELS


def channel_types() -> list[dict]:
    """[{id, name, default_base_url, key_hint, retired, fields: [{key, label, placeholder, secret, multiline,
    required}]}] sorted by id: what the dashboard's editor offers per type."""
    return [{"id": t.id, "name": t.name, "default_base_url": t.base_url, "key_hint": t.key_hint,
             "retired": (t.retired_note or "retired") if t.retired else "", "key_from_config": list(t.key_from_config),
             "fields": [{"key": f.key, "label": f.label, "placeholder": f.placeholder, "secret": f.secret,
                         "multiline": f.multiline, "required": f.required} for f in t.fields]}
            for t in sorted(CHANNEL_TYPES.values(), key=lambda t: t.id)]


def default_base_url(type_id: int) -> str:
    return CHANNEL_TYPES[type_id].base_url if type_id in CHANNEL_TYPES else ""


def default_models() -> dict[str, list[str]]:
    """GET /api/models: channel type (as a string) -> the built-in catalog's models of that type's makers."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for model in sorted(MODEL_RATIOS):
        for type_id in OWNER_TYPES.get(model_owner(model) or "", ()):
            by_type[str(type_id)].append(model)
    for kind in CHANNEL_TYPES.values():  # the types' own declarations (Cloudflare, Ollama...)
        listed = by_type[str(kind.id)] if kind.default_models else []
        listed.extend(m for m in kind.default_models if m not in listed)
    for type_id, models in CLOUD_DEFAULT_MODELS.items():  # Bedrock, Vertex AI: their adaptors' own lists
        by_type[str(type_id)] = list(models)
    for type_id, models in CN_DEFAULT_MODELS.items():  # the native CN adaptors' own lists
        by_type[str(type_id)] = list(models)
    by_type = defaultdict(list, {k: v for k, v in by_type.items() if v})
    return dict(sorted(by_type.items(), key=lambda item: int(item[0])))


def type_info(type_id: int) -> dict:
    """name, default base URL, API family and URL rule of a type."""
    kind = channel_type(type_id) if type_id in CHANNEL_TYPES else None
    if kind is None:
        return {"name": "", "base_url": "", "family": "openai", "url_rule": "path"}
    return {"name": kind.name, "base_url": kind.base_url, "family": kind.family, "url_rule": kind.url_rule}
