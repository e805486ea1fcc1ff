"""Error texts in English or Chinese by the LANGUAGE setting (oneapi_app/i18n.py): every message id has
both languages with the same placeholders; representative /v1 and /api errors in each language."""

from __future__ import annotations

import re
import string

import pytest

from oneapi_app import i18n
from oneapi_app.errors import ModelNotFound, NoChannel
from oneapi_app.i18n import MESSAGES, Text, msg, t
from oneapi_app.settings import SettingsError, load_settings

from .relay.conftest import add_channel, add_token, add_user

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LANGUAGE_NAMES = {"shell.switch_to"}  # the switch names the other language in its own words
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(autouse=True)
def _restore_language():
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_both_languages_with_the_same_placeholders():
    assert set(i18n.LANGUAGES) == {"en", "zh"}
    for msg_id, variants in MESSAGES.items():
        assert set(variants) == {"en", "zh"}, msg_id
        assert variants["en"].strip() and variants["zh"].strip(), msg_id
        assert _fields(variants["en"]) == _fields(variants["zh"]), msg_id
        if msg_id not in LANGUAGE_NAMES:
            assert not CJK.search(variants["en"]), msg_id  # English texts are English
        params = {name: "x" for name in _fields(variants["en"])}
        t(msg_id, "en", **params), t(msg_id, "zh", **params)  # both render (braces escaped)


def test_texts_render_when_shown_in_the_configured_language():
    text = msg("relay.no_channel", group="default", model="m")
    error = NoChannel(text)
    i18n.set_language("en")
    assert error.message == "no channel of group default can serve the model m right now"
    i18n.set_language("zh")
    assert error.message == "当前分组 default 下对于模型 m 无可用渠道"  # one-api's text
    assert text.render("en") == t("relay.no_channel", "en", group="default", model="m")
    assert isinstance(text, Text) and str(text) == error.message
    assert i18n.texts("en")["relay.no_key"] == MESSAGES["relay.no_key"]["en"]
    with pytest.raises(KeyError):
        msg("no.such.id")
    with pytest.raises(ValueError):
        i18n.set_language("fr")


def test_the_language_setting(make_settings):
    assert make_settings().language == "zh"  # one-api's users and scripts expect its Chinese texts
    assert make_settings(LANGUAGE="en").language == "en"
    assert make_settings(LANGUAGE="zh-CN").language == "zh"
    assert make_settings(LANGUAGE="en_US").language == "en"
    with pytest.raises(SettingsError, match="LANGUAGE"):
        load_settings({"LANGUAGE": "klingon"})


async def _representative(runtime, client) -> dict[str, tuple[int, str]]:
    """One of each: /v1 without a key, with a bad key, an exhausted key, a user without quota, an unknown
    model, a body too large, bad JSON; /api a failed login and a validation failure."""
    await add_channel(runtime, "http://127.0.0.1:9", models="gpt-4o-mini")
    key = await add_token(runtime)
    exhausted = await add_token(runtime, unlimited=False, remain_quota=0)
    poor = await add_token(runtime, user_id=await add_user(runtime, quota=1))
    auth = {"Authorization": f"Bearer sk-{key}"}
    chat = "/v1/chat/completions"
    answers = {
        "no key": await client.post(chat, json=BODY),
        "bad key": await client.post(chat, json=BODY, headers={"Authorization": "Bearer sk-nope"}),
        "exhausted key": await client.post(chat, json=BODY, headers={"Authorization": f"Bearer sk-{exhausted}"}),
        "no quota": await client.post(chat, json={**BODY, "max_tokens": 1000},
                                      headers={"Authorization": f"Bearer sk-{poor}"}),
        "unknown model": await client.post(chat, json={**BODY, "model": "gpt-4o-mimi"}, headers=auth),
        "too large": await client.post(chat, content=b" " * (1024 * 1024 + 1), headers=auth),
        "bad json": await client.post(chat, content=b'{"model": ', headers=auth),
        "login": await client.post("/api/user/login", json={"username": "root", "password": "wrong-password"}),
        "validation": await client.post("/api/user/login", json={"username": ["a"], "password": "x"}),
    }
    out = {}
    for name, resp in answers.items():
        body = resp.json()
        text = body["message"] if "success" in body else body["error"]["message"]
        out[name] = (resp.status_code, re.sub(r" \(request id: \w+\)$", "", text))
    return out


@pytest.fixture
def settings(make_settings, request):
    return make_settings(LANGUAGE=request.param, MAX_REQUEST_BODY_SIZE="1")


@pytest.mark.parametrize("settings", ["en"], indirect=True)
async def test_english_errors_have_no_chinese(runtime, client):
    answers = await _representative(runtime, client)
    for name, (_status, text) in answers.items():
        assert text and not CJK.search(text), (name, text)
    assert answers["no key"][1].startswith("no API key provided")
    assert answers["unknown model"] == (404, "The model `gpt-4o-mimi` does not exist or is not available to group default")
    assert answers["too large"] == (413, "the request body is larger than 1 MB (MAX_REQUEST_BODY_SIZE)")
    assert answers["login"] == (200, "wrong username or password, or the user is banned")
    assert answers["validation"][1].startswith("invalid request: ")


@pytest.mark.parametrize("settings", ["zh"], indirect=True)
async def test_chinese_errors_are_one_apis_texts(runtime, client):
    answers = await _representative(runtime, client)
    exhausted_id = 2  # the second token of the test
    assert answers["no key"] == (401, "未提供令牌")
    assert answers["bad key"] == (401, "无效的令牌")
    assert answers["exhausted key"] == (401, f"令牌 t（#{exhausted_id}）额度已用尽")
    assert answers["no quota"] == (403, "用户额度不足")
    assert answers["unknown model"] == (404, "当前分组 default 下对于模型 gpt-4o-mimi 无可用渠道")
    assert answers["too large"] == (413, "请求体超过 1 MB（MAX_REQUEST_BODY_SIZE）")
    assert answers["bad json"][0] == 400 and answers["bad json"][1].startswith("请求体不是合法的 JSON")
    assert answers["login"] == (200, "用户名或密码错误，或用户已被封禁")
    assert answers["validation"][0] == 200 and answers["validation"][1].startswith("无效的参数")


def test_typed_errors_carry_a_message_id():
    error = ModelNotFound("x", "vip")
    assert isinstance(error.text, Text) and error.text.id == "relay.model_not_found"
    assert error.text.params == {"model": "x", "group": "vip"}
