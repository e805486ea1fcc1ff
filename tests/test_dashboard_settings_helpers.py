"""The Settings page's tables and checks, without a browser: every option has a field, the secrets are exactly
the options GET /api/option leaves out (and never reach the page's values), the page's checks name the field."""

from __future__ import annotations

import json

import pytest

from oneapi_app.i18n import MESSAGES, t
from oneapi_app.pages.common import error_text
from oneapi_app.pages.components.settings_fields import FIELDS, LABELS, SECTIONS, TABS, TEXT
from oneapi_app.pages.settings import SettingsState, check_value, page_values, stored_text
from oneapi_app.services.options import Options


def test_every_option_has_one_field_and_a_label():
    assert set(FIELDS) == set(Options.known_keys())
    keys = [f.key for s in SECTIONS.values() for f in s.fields]
    assert len(keys) == len(set(keys))
    assert set(LABELS) >= set(FIELDS)
    assert [tab for tab, _t, _s in TABS] == ["operation", "system", "other"]  # One API's root tabs


def test_secret_fields_are_the_write_only_options():
    secrets = {k for k, f in FIELDS.items() if f.kind == "secret"}
    assert secrets == {k for k in Options.known_keys() if Options.is_secret(k)}
    assert {"SMTPToken", "GitHubClientSecret", "OidcClientSecret", "TurnstileSecretKey"} <= secrets
    assert all(f.kind == "toggle" for k, f in FIELDS.items() if k.endswith("Enabled"))


def test_page_values_never_hold_a_secret():
    options = Options(SMTPToken="tok-123-secret", GitHubClientSecret="", Notice="hi", RetryTimes=2,
                      ModelRatio='{"my-model": 3}')
    values, toggles, stored = page_values(options)
    assert "tok-123-secret" not in json.dumps([values, toggles, stored])
    assert stored["SMTPToken"] is True and stored["GitHubClientSecret"] is False
    assert values["Notice"] == "hi" and values["RetryTimes"] == "2" and toggles["LogConsumeEnabled"] is True
    table = json.loads(values["ModelRatio"])  # the whole table, as GET /api/option answers
    assert table["my-model"] == 3 and "gpt-4o-mini" in table
    # The state's public vars: these three tables and the test mail address (no secret var reaches the browser).
    public = {name for name in SettingsState.base_vars if not name.startswith("_")}
    assert public == {"values", "toggles", "secret_stored", "test_mail_to"}


@pytest.mark.parametrize(("key", "text", "message"), [
    ("RetryTimes", "two", "Retries on another channel: expected a number"),
    ("RetryTimes", "1.5", "expected a whole number"),
    ("QuotaForNewUser", "-1", "cannot be negative"),
    ("ModelRatio", "{not json", "Model ratios: invalid JSON"),
    ("GroupRatio", "[1, 2]", "Group ratios: expected a JSON object"),
    ("CompletionRatio", '{"gpt-4o": "x"}', "'gpt-4o' must be a number"),
    ("CompletionRatio", '{"gpt-4o": true}', "'gpt-4o' must be a number"),
])
def test_checks_name_the_field(key, text, message):
    with pytest.raises(ValueError, match=message):
        check_value(FIELDS[key], text)


@pytest.mark.parametrize(("key", "text"), [
    ("RetryTimes", " 3 "), ("ChannelDisableThreshold", "2.5"), ("ModelRatio", '{"a": 1, "b": -500000, "c": 0.1}'),
    ("GroupRatio", ""), ("Notice", "anything **at all**"),
])
def test_checks_pass_good_values(key, text):
    check_value(FIELDS[key], text)


def test_every_string_comes_from_the_tables():
    assert t(TEXT["saved"], "en", section="Quota") == "Quota: saved."
    assert t(TEXT["saved"], "zh", section="额度") == "额度：已保存。"
    assert all(v in MESSAGES for v in [*TEXT.values(), *LABELS.values()])
    assert all(s.title_id in MESSAGES for s in SECTIONS.values())


def test_checks_speak_the_users_language():
    with pytest.raises(ValueError) as caught:
        check_value(FIELDS["RetryTimes"], "two", "zh")
    assert error_text(caught.value, lang="zh").startswith("失败重试次数（换其他渠道）：应为数字")


def test_stored_text():
    assert stored_text(FIELDS["GroupRatio"], '{\n  "default": 1,\n  "vip": 0.8\n}') == '{"default":1,"vip":0.8}'
    assert stored_text(FIELDS["RetryTimes"], " 3 ") == "3"
    assert stored_text(FIELDS["Notice"], " keep\n ") == " keep\n "
