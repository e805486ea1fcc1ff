import pytest
from sqlmodel import select

from oneapi_app.errors import BadRequest
from oneapi_app.models import Ability, ChannelCreate, ChannelStatus, ChannelUpdate, TokenCreate
from oneapi_app.services import channels, tokens


async def test_channel_abilities_follow_the_channel(runtime):
    async with runtime.db.session() as s:
        [c1, c2] = await channels.create_channels(s, ChannelCreate(
            type=1, key="k1\n\n k2 ", name="c", models=" gpt-4o, gpt-4o-mini,gpt-4o", group="default, vip", priority=3),
            bus=runtime.changes)
        assert c1.key == "k1" and c2.key == "k2" and c1.models == "gpt-4o,gpt-4o-mini" and c1.group == "default,vip"
        rows = (await s.exec(select(Ability).where(Ability.channel_id == c1.id))).all()
        assert {(a.group, a.model, a.enabled, a.priority) for a in rows} == {
            ("default", "gpt-4o", True, 3), ("default", "gpt-4o-mini", True, 3),
            ("vip", "gpt-4o", True, 3), ("vip", "gpt-4o-mini", True, 3)}
        await channels.update_channel(s, c1.id, ChannelUpdate(models="o1", key=""), bus=runtime.changes)
        assert (await channels.get_channel(s, c1.id)).key == "k1"
        rows = (await s.exec(select(Ability).where(Ability.channel_id == c1.id))).all()
        assert {(a.group, a.model) for a in rows} == {("default", "o1"), ("vip", "o1")}
        await channels.set_channel_status(s, c2.id, ChannelStatus.MANUALLY_DISABLED, bus=runtime.changes)
        assert not any(a.enabled for a in (await s.exec(select(Ability).where(Ability.channel_id == c2.id))).all())
        assert await channels.delete_disabled_channels(s, bus=runtime.changes) == 1
        assert (await s.exec(select(Ability).where(Ability.channel_id == c2.id))).all() == []
        with pytest.raises(BadRequest):
            await channels.update_channel(s, c1.id, ChannelUpdate(model_mapping="{not json"), bus=runtime.changes)


async def test_token_key_format_and_validation(runtime):
    async with runtime.db.session() as s:
        token = await tokens.create_token(s, 1, TokenCreate(name="t", subnet="10.0.0.1/8, 192.168.1.7", models="a, b"))
        assert len(token.key) == 48 and token.key[:16].isalnum()
        hex_part = token.key[16:]
        assert all(c.isupper() or c.isdigit() for c in hex_part[0::2]) and hex_part[1::2] == hex_part[1::2].lower()
        assert token.subnet == "10.0.0.0/8,192.168.1.7/32" and token.models == "a,b"
        with pytest.raises(BadRequest, match="无效的网段"):
            await tokens.create_token(s, 1, TokenCreate(name="t", subnet="10.0.0.0/33"))
        with pytest.raises(BadRequest, match="30 字节"):
            await tokens.create_token(s, 1, TokenCreate(name="é" * 16))
