"""The Settings page's tables and checks, without a browser: every option has a field, the secrets are exactly
the options GET /api/option leaves out (and never reach the page's values), the page's checks name the field
(the GroupRateLimits editor's: the group and the limit that is wrong, as strict as the service)."""

from __future__ import annotations

import json

import pytest

from oneapi_app.errors import ConfigError
from oneapi_app.i18n import MESSAGES, t
from oneapi_app.pages.common import error_text
from oneapi_app.pages.components.settings_fields import (
    FIELDS,
    HINT_PARAMS,
    HINTS,
    LABELS,
    LIMITS_EXAMPLE,
    SECTIONS,
    TABS,
    TEXT,
)
from oneapi_app.pages.settings import SettingsState, check_value, page_values, stored_text
from oneapi_app.services.options import Options, _parse


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


@pytest.mark.parametrize(("text", "message"), [
    ('{"default": {"rpm": 60', "Rate limits per group: invalid JSON"),
    ('[{"rpm": 60}]', "expected a JSON object of groups"),
    ('{"default": 60}', "the limits of group 'default' must be a JSON object"),
    ('{"default": {"rps": 1}}', "group 'default' has an unknown limit 'rps'"),
    ('{"vip": {"rpm": -1}}', r"vip\.rpm must be a whole number >= 0, not -1"),
    ('{"vip": {"tpm": 1.5}}', r"vip\.tpm must be a whole number >= 0, not 1.5"),
    ('{"vip": {"concurrency": "4"}}', r"vip\.concurrency must be a whole number >= 0, not \"4\""),
    ('{"vip": {"user_rpm": true}}', r"vip\.user_rpm must be a whole number"),
])
def test_group_rate_limits_check_names_the_entry(text, message):
    with pytest.raises(ValueError, match=message):
        check_value(FIELDS["GroupRateLimits"], text)


def test_group_rate_limits_editor_matches_the_service():
    """The page passes what the service stores and refuses what it refuses (the service's message is shown when
    only the service refuses); the editor shows the table one entry a line and sends it compact."""
    field = FIELDS["GroupRateLimits"]
    assert field.kind == "limits" and SECTIONS["limits"].fields == (field,)
    assert SECTIONS["limits"] in next(sections for tab, _t, sections in TABS if tab == "operation")
    for good in ("", "{}", LIMITS_EXAMPLE, ('{"default": {"rpm": 0, "tpm": 0, "concurrency": 0, "user_rpm": 1, '
                 '"user_tpm": 2, "user_concurrency": 3}}')):
        check_value(field, good)
        sent = stored_text(field, good)
        assert _parse("GroupRateLimits", sent) == sent  # what the service stores
    for bad in ('{"default": {"rpm": -1}}', '{"default": {"x": 1}}', "[]", "{"):
        with pytest.raises(ValueError):
            check_value(field, bad)
        with pytest.raises(ConfigError) as refused:
            _parse("GroupRateLimits", bad)
        assert "GroupRateLimits" in error_text(refused.value, lang="en")
    assert stored_text(field, '{\n  "default": {\n    "rpm": 60\n  }\n}') == '{"default":{"rpm":60}}'
    values, _toggles, _stored = page_values(Options(GroupRateLimits='{"default":{"rpm":60}}'))
    assert values["GroupRateLimits"] == '{\n  "default": {\n    "rpm": 60\n  }\n}'
    assert "{" in t(HINTS["GroupRateLimits"], "en", **HINT_PARAMS["GroupRateLimits"])
    with pytest.raises(ValueError) as caught:
        check_value(field, '{"vip": {"rpm": -1}}', "zh")
    assert error_text(caught.value, lang="zh").startswith("分组速率限制：vip.rpm 必须是不小于 0 的整数")
