"""Pure parts of the Usage, Pricing, Playground and channel-editor pages, the channel-type registry's editor
declarations, and the statistics service on a real database."""

from __future__ import annotations

import json

from sqlmodel import select

from oneapi_app.catalog.channel_types import CHANNEL_TYPES
from oneapi_app.models import Ability, ChannelCreate, Log, LogType
from oneapi_app.pages.channel_config import field_values, merged_config, parse_config, type_details, type_options
from oneapi_app.pages.chat_links import chat_links
from oneapi_app.pages.playground import stream_text
from oneapi_app.pages.pricing import price_row
from oneapi_app.pages.redemptions import codes_filename
from oneapi_app.services import channels, stats
from oneapi_app.services.channel_registry import channel_types, default_models

CONFIG_KEYS = {"region", "ak", "sk", "user_id", "api_version", "library_id", "plugin", "vertex_ai_project_id",
               "vertex_ai_adc", "proxy_price", "session_token"}


def test_every_channel_type_declares_a_key_hint_and_its_fields():
    for kind in CHANNEL_TYPES.values():
        assert kind.key_hint.strip(), kind
        assert isinstance(kind.fields, tuple)
        assert {f.key for f in kind.fields} <= CONFIG_KEYS, kind
        assert all(f.label for f in kind.fields)
        assert set(kind.key_from_config) | set(kind.key_from_config_optional) <= {f.key for f in kind.fields}
    assert [f.key for f in CHANNEL_TYPES[3].fields] == ["api_version"]
    assert [f.key for f in CHANNEL_TYPES[33].fields] == ["region", "ak", "sk", "session_token"]
    assert [f.secret for f in CHANNEL_TYPES[33].fields] == [False, False, True, True]
    assert not CHANNEL_TYPES[33].fields[3].required and "session token" in CHANNEL_TYPES[33].key_hint
    assert channels.SECRET_CONFIG_KEYS == ("session_token", "sk", "vertex_ai_adc")
    assert {f.key for f in CHANNEL_TYPES[42].fields} == {"region", "vertex_ai_project_id", "vertex_ai_adc"}
    assert CHANNEL_TYPES[37].fields[0].key == "user_id" and CHANNEL_TYPES[34].fields[0].key == "user_id"
    assert CHANNEL_TYPES[43].fields[0].key == "proxy_price"
    assert "|" in CHANNEL_TYPES[15].key_hint and CHANNEL_TYPES[23].key_hint.count("|") == 2
    assert CHANNEL_TYPES[11].retired and "Gemini" in CHANNEL_TYPES[11].retired_note and not CHANNEL_TYPES[24].retired
    rows = {t["id"]: t for t in channel_types()}
    assert rows[33]["fields"][2] == {"key": "sk", "label": "Secret key (SK)", "placeholder": "secret access key",
                                     "secret": True, "multiline": False, "required": True}
    models = default_models()
    assert "@cf/meta/llama-3.1-8b-instruct" in models["37"] and "gemini-2.5-pro" in models["42"]
    assert all(models.values())


def test_the_editor_shows_the_type_fields_and_merges_the_config():
    assert any(o["id"] == "11" and o["retired"] for o in type_options())
    aws = type_details("33")
    assert [f["key"] for f in aws["fields"]] == ["region", "ak", "sk", "session_token"]
    assert aws["fields"][2]["secret"] == aws["fields"][3]["secret"] == "1"
    assert type_details("3")["fields"][0]["key"] == "api_version" and type_details("1")["fields"] == []
    raw = '{"region": "eu-west-1", "sk": "", "extra": 1}'
    assert field_values(parse_config(raw), aws["fields"]) == {"region": "eu-west-1", "ak": ""}
    merged = json.loads(merged_config(raw, aws["fields"], {"region": "us-west-2", "ak": "AK1"}, {"sk": " SK1 "}))
    assert merged == {"region": "us-west-2", "sk": "SK1", "extra": 1, "ak": "AK1"}
    # an empty secret stays "" (the service keeps the stored one); an emptied field drops its key
    assert json.loads(merged_config(raw, aws["fields"], {"region": ""}, {})) == {"sk": "", "extra": 1}
    assert merged_config("", [], {}, {}) == ""
    for bad in ("[1]", "{nope", '"text"'):
        try:
            parse_config(bad)
        except ValueError as exc:
            assert "JSON object" in str(exc)
        else:
            raise AssertionError(bad)


def test_key_from_config():
    assert channels.key_from_config(33, '{"ak": "A", "sk": "S", "region": "R"}') == "A|S|R"
    assert channels.key_from_config(33, '{"ak": "A", "region": "R"}') == ""
    assert channels.key_from_config(33, '{"ak": "A", "sk": "S", "region": "R", "session_token": " T "}') == "A|S|R|T"
    assert channels.key_from_config(33, '{"ak": "A", "region": "R", "session_token": "T"}') == ""
    # the session token is a secret: never shown back, kept when an edit sends it empty
    shown = json.loads(channels.redact_config('{"ak": "A", "sk": "S", "session_token": "T"}'))
    assert shown == {"ak": "A", "sk": "", "session_token": ""}
    kept = channels.keep_config_secrets('{"session_token": "T"}', '{"session_token": "", "ak": "B"}')
    assert json.loads(kept) == {"session_token": "T", "ak": "B"}
    assert channels.key_from_config(42, '{"region": "r", "vertex_ai_project_id": "p", "vertex_ai_adc": "{}"}') == "r|p|{}"
    assert channels.key_from_config(1, '{"ak": "A"}') == ""


def test_chat_links_and_stream_parsing():
    links = chat_links("sk-abc", "http://nas.local:3000")
    assert links["nextchat"] == 'https://app.nextchat.dev/#/?settings={"key":"sk-abc","url":"http://nas.local:3000"}'
    assert links["lobechat"].endswith('/?settings={"keyVaults":{"openai":{"apiKey":"sk-abc",'
                                      '"baseURL":"http://nas.local:3000/v1"}}}')
    assert links["ama"] == "ama://set-api-key?server=http%3A%2F%2Fnas.local%3A3000&key=sk-abc"
    assert links["opencat"] == "opencat://team/join?domain=http%3A%2F%2Fnas.local%3A3000&token=sk-abc"
    assert chat_links("sk-abc", "http://x", "https://chat.example/")["nextchat"].startswith("https://chat.example/#/")
    assert stream_text(b'{"choices":[{"delta":{"content":"Hel"}}]}') == ("Hel", "")
    assert stream_text(b"[DONE]") == ("", "")
    assert stream_text(b'{"error":{"message":"quota"}}') == ("", "quota")
    assert stream_text(b"garbage") == ("", "")


def test_codes_filename():
    assert codes_filename("Gift card/2026") == "redemption-codes-Gift-card-2026.txt"
    assert codes_filename("  ") == "redemption-codes.txt"


async def test_usage_statistics_per_day_model_token_and_user(runtime):
    day = 86400
    at = 1_760_000_000 - 1_760_000_000 % day + 3600  # 01:00 UTC of a day
    rows = [  # (user, token, model, quota, prompt, completion, seconds before ``at``)
        (1, "t1", "gpt-4o-mini", 100, 10, 20, 0), (1, "t1", "gpt-4o-mini", 50, 5, 5, 60),
        (2, "t2", "claude", 400, 40, 40, day), (1, "t3", "gpt-4o", 7, 1, 1, 2 * day),
        (1, "t1", "gpt-4o", 999, 9, 9, 8 * day),  # outside 7 days
    ]
    async with runtime.db.log_session() as s:
        for user, token, model, quota, prompt, completion, ago in rows:
            s.add(Log(user_id=user, username=f"u{user}", token_name=token, model_name=model, quota=quota,
                      prompt_tokens=prompt, completion_tokens=completion, created_at=at - ago,
                      type=int(LogType.CONSUME)))
        s.add(Log(user_id=1, type=int(LogType.TOPUP), quota=10**6, created_at=at))  # not usage
        await s.commit()
    mine = await stats.usage(runtime.db, 1, 7, at=at)
    assert len(mine.per_day) == 7 and mine.per_day[-1][1].requests == 2 and mine.per_day[-1][1].quota == 150
    assert mine.today.requests == 2 and mine.today.tokens == 40 and mine.total.requests == 3
    assert [m for m, _ in mine.per_model] == ["gpt-4o-mini", "gpt-4o"] and mine.per_user == []
    assert mine.per_token[0][0] == "t1" and mine.per_token[0][1].quota == 150
    everyone = await stats.usage(runtime.db, None, 30, at=at)
    assert len(everyone.per_day) == 30 and everyone.total.requests == 5
    assert everyone.per_user[0][0] == "u1" and everyone.per_user[0][1].quota == 1156
    assert everyone.per_model[0][0] == "gpt-4o"


async def test_model_prices_of_a_group(runtime):
    async with runtime.db.session() as s:
        await channels.create_channels(s, ChannelCreate(type=1, key="k", name="c", models="gpt-4o-mini,custom-x",
                                                        group="default,vip"), bus=runtime.changes)
        await channels.create_channels(s, ChannelCreate(type=1, key="k2", name="d", models="vip-only", group="vip"),
                                       bus=runtime.changes)
        assert (await s.exec(select(Ability))).all()
        runtime.options.GroupRatio = '{"default": 1, "vip": 0.5}'
        prices = await stats.model_prices(s, runtime.options, "default")
        assert [p.model for p in prices] == ["custom-x", "gpt-4o-mini"]
        mini = prices[1]
        # gpt-4o-mini: ratio 0.075 -> $0.15 per 1M input tokens; completion ratio 4 -> $0.60 output
        assert mini.model_ratio == 0.075 and mini.completion_ratio == 4
        row = price_row(mini, 500000)
        assert row["input"] == "$0.15" and row["output"] == "$0.6" and row["group_ratio"] == "1"
        vip = {p.model: p for p in await stats.model_prices(s, runtime.options, "vip")}
        assert set(vip) == {"custom-x", "gpt-4o-mini", "vip-only"}
        assert price_row(vip["gpt-4o-mini"], 500000)["input"] == "$0.075"
        assert price_row(vip["custom-x"], 500000)["input"] == "$30"  # unknown model: ratio 30, x0.5 x2
