"""Channels and their abilities. Abilities are always rebuilt in the same transaction as the channel change,
so they never point at a missing channel (one-api's ``/channel/disabled`` leaves orphans).

The write rules of both front doors live here (what an edit keeps, the status that comes with an edit), and
every write announces "channels" on ``bus`` after its commit, so the relay's channel snapshot is rebuilt.
"""

from __future__ import annotations

import json

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..catalog.channel_types import SECRET_CONFIG_KEYS, channel_type
from ..changes import Changes
from ..errors import BadRequest, NotFound
from ..i18n import msg
from ..models import Ability, Channel, ChannelStatus, now
from ..models.schemas import ChannelCreate, ChannelUpdate
from .search import keyword_filter

# one-api's edit rule: a zero type and an empty name, models, group, key or base URL keep the stored value.
KEPT_WHEN_EMPTY = ("type", "name", "models", "group", "key", "base_url")


def split_list(value: str | None) -> list[str]:
    """A comma list, trimmed, empty items dropped, duplicates removed in order (one-api trims nothing)."""
    seen: dict[str, None] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def _validate(channel: Channel) -> None:
    if channel.model_mapping and channel.model_mapping.strip() not in ("", "{}"):
        try:
            mapping = json.loads(channel.model_mapping)
        except json.JSONDecodeError:
            raise BadRequest(msg("channel.bad_mapping")) from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise BadRequest(msg("channel.mapping_names"))
    if channel.config and channel.config.strip():
        try:
            config = json.loads(channel.config)
        except ValueError:
            config = None
        if not isinstance(config, dict):
            raise BadRequest(msg("channel.bad_config"))
    if len(channel.group or "") > 32:
        raise BadRequest(msg("channel.group_length"))
    channel.models = ",".join(split_list(channel.models))
    channel.group = ",".join(split_list(channel.group)) or "default"


def redact_config(config: str) -> str:
    """The config JSON without its credentials (SECRET_CONFIG_KEYS: the fields the catalogue declares secret,
    AWS sk and session_token, Vertex AI's service account), as every answer shows it."""
    try:
        data = json.loads(config or "{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for key in SECRET_CONFIG_KEYS:
        if data.get(key):
            data[key] = ""
    return json.dumps(data, ensure_ascii=False) if data else (config or "")


def keep_config_secrets(old: str, new: str) -> str:
    """An edit's config with the credentials it sent back empty kept from the stored one (as an empty key)."""
    try:
        old_data, new_data = json.loads(old or "{}"), json.loads(new or "{}")
    except ValueError:
        return new
    if not isinstance(old_data, dict) or not isinstance(new_data, dict):
        return new
    for key in SECRET_CONFIG_KEYS:
        if old_data.get(key) and key in new_data and not new_data[key]:
            new_data[key] = old_data[key]
    return json.dumps(new_data, ensure_ascii=False)


async def rebuild_abilities(session: AsyncSession, channel: Channel) -> None:
    """Replace the channel's abilities: one row per (group, model), enabled iff the channel is enabled."""
    await session.exec(delete(Ability).where(col(Ability.channel_id) == channel.id))  # type: ignore[call-overload]
    enabled = channel.status == ChannelStatus.ENABLED
    for group in split_list(channel.group):
        for model in split_list(channel.models):
            session.add(Ability(group=group, model=model, channel_id=channel.id, enabled=enabled,
                                priority=channel.priority or 0))


def key_from_config(type_id: int, config: str) -> str:
    """The key one-api's editor builds when it is left empty for a type that keeps its credentials in the
    config (AWS: ak|sk|region, plus |session_token when set; Vertex AI: region|project|service account); ""
    when a required part is missing."""
    kind = channel_type(type_id)
    parts = kind.key_from_config
    try:
        data = json.loads(config or "{}")
    except ValueError:
        return ""
    if not parts or not isinstance(data, dict):
        return ""
    values = [str(data.get(part) or "").strip() for part in parts]
    if not all(values):
        return ""
    values += [v for v in (str(data.get(part) or "").strip() for part in kind.key_from_config_optional) if v]
    return "|".join(values)


async def create_channels(session: AsyncSession, data: ChannelCreate, *, bus: Changes) -> list[Channel]:
    """Create one channel per non-empty line of ``data.key`` (batch mode), with their abilities. A channel
    needs a name; an empty key of a type that keeps its credentials in the config is built from them."""
    key = data.key if data.key.strip() else key_from_config(data.type, data.config)
    if channel_type(data.type).key_from_config and key.strip() and not data.key.strip():
        keys = [key]  # one channel: the built key may hold a multi-line service-account JSON
    else:
        keys = [line.strip() for line in key.split("\n") if line.strip()]
    if not keys:
        raise BadRequest(msg("channel.empty_key"))
    created = []
    for key in keys:
        channel = Channel.model_validate(data.model_dump() | {"key": key, "created_time": now(),
                                                              "status": ChannelStatus.ENABLED})
        _validate(channel)
        if not channel.name.strip():
            raise BadRequest(msg("channel.empty_name"))
        session.add(channel)
        await session.flush()
        await rebuild_abilities(session, channel)
        created.append(channel)
    await session.commit()
    await bus.publish("channels")
    return created


async def get_channel(session: AsyncSession, channel_id: int) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(msg("channel.not_found", id=channel_id))
    return channel


async def update_channel(session: AsyncSession, channel_id: int, data: ChannelUpdate, *, bus: Changes) -> Channel:
    """An edit: the fields given (null, zero or empty as KEPT_WHEN_EMPTY = keep), config secrets kept when sent
    back empty, and a new status applied with it; the abilities follow in the same transaction."""
    channel = await get_channel(session, channel_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"id", "status"})
    for name in KEPT_WHEN_EMPTY:
        if changes.get(name) in (0, ""):
            changes.pop(name, None)
    if "config" in changes:
        changes["config"] = keep_config_secrets(channel.config, changes["config"])
    for field, value in changes.items():
        setattr(channel, field, value)
    if data.status is not None:
        channel.status = int(ChannelStatus(data.status))
    _validate(channel)
    session.add(channel)
    await rebuild_abilities(session, channel)
    await session.commit()
    await bus.publish("channels")
    return channel


async def set_channel_status(session: AsyncSession, channel_id: int, status: ChannelStatus, *,
                             bus: Changes) -> Channel:
    channel = await get_channel(session, channel_id)
    channel.status = int(status)
    session.add(channel)
    await session.exec(update(Ability).where(col(Ability.channel_id) == channel_id)  # type: ignore[call-overload]
                       .values(enabled=status == ChannelStatus.ENABLED))
    await session.commit()
    await bus.publish("channels")
    return channel


async def delete_channel(session: AsyncSession, channel_id: int, *, bus: Changes) -> None:
    channel = await get_channel(session, channel_id)
    await session.exec(delete(Ability).where(col(Ability.channel_id) == channel_id))  # type: ignore[call-overload]
    await session.delete(channel)
    await session.commit()
    await bus.publish("channels")


async def delete_disabled_channels(session: AsyncSession, *, bus: Changes) -> int:
    """Delete every disabled channel and its abilities (no orphans). Returns the number of channels."""
    disabled = [ChannelStatus.MANUALLY_DISABLED, ChannelStatus.AUTO_DISABLED]
    ids = (await session.exec(select(Channel.id).where(col(Channel.status).in_(disabled)))).all()
    if ids:
        await session.exec(delete(Ability).where(col(Ability.channel_id).in_(ids)))  # type: ignore[call-overload]
        await session.exec(delete(Channel).where(col(Channel.id).in_(ids)))  # type: ignore[call-overload]
    await session.commit()
    await bus.publish("channels")
    return len(ids)


PAGE_SIZE = 10


async def list_channels(session: AsyncSession, page: int) -> list[Channel]:
    stmt = select(Channel).order_by(col(Channel.id).desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
    return list((await session.exec(stmt)).all())


async def search_channels(session: AsyncSession, keyword: str) -> list[Channel]:
    stmt = (select(Channel).where(keyword_filter(keyword, Channel.id, Channel.name))
            .order_by(col(Channel.id).desc()).limit(100))
    return list((await session.exec(stmt)).all())


async def all_models(session: AsyncSession) -> list[str]:
    """Every model some channel serves (abilities), sorted."""
    return sorted((await session.exec(select(Ability.model).distinct())).all())
