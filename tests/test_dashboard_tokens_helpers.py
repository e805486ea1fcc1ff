"""The Tokens page's pure helpers: expiry presets, quota parsing and formatting, table rows (no key), the rate
limit fields (parsed, summed up in the table, the group's default in words)."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from oneapi_app.models import Token, TokenStatus
from oneapi_app.pages.common import error_text
from oneapi_app.pages.tokens import (
    compact_count,
    datetime_local,
    expiry_timestamp,
    format_quota,
    group_limits_text,
    limit_text,
    limits_summary,
    parse_limit,
    parse_quota,
    token_row,
)


def test_expiry_presets():
    assert expiry_timestamp("never", now=1000) == -1
    assert expiry_timestamp("1h", now=1000) == 1000 + 3600
    assert expiry_timestamp("1d", now=1000) == 1000 + 86400
    assert expiry_timestamp("1M", now=1000) == 1000 + 30 * 86400
    ts = int(datetime(2030, 5, 6, 7, 8).timestamp())
    assert expiry_timestamp("custom", "2030-05-06T07:08") == ts
    assert expiry_timestamp("custom", "2030-05-06T07:08:00") == ts
    assert datetime_local(ts) == "2030-05-06T07:08"
    with pytest.raises(ValueError, match="expiry date"):
        expiry_timestamp("custom", "")
    with pytest.raises(ValueError, match="unknown expiry"):
        expiry_timestamp("1y")


def test_quota_parse_and_format():
    assert parse_quota(" 500,000 ") == 500000
    for bad in ("", "abc", "1.5", "-1"):
        with pytest.raises(ValueError):
            parse_quota(bad)
    assert format_quota(1000) == "1,000"
    assert format_quota(1000, True, 500000) == "1,000 ($0.002)"
    assert format_quota(1_250_000, True, 500000) == "1,250,000 ($2.50)"
    assert format_quota(0, True, 500000) == "0 ($0.00)"


def test_token_row_hides_the_key():
    t = int(time.time())
    token = Token(id=7, user_id=1, key="k" * 48, name="n", created_time=t, expired_time=-1, remain_quota=5,
                  unlimited_quota=True, used_quota=3, status=TokenStatus.ENABLED)
    row = token_row(token, False, 500000)
    assert "k" * 48 not in str(row)
    assert row["remaining"] == "unlimited" and row["expires"] == "never" and row["status_label"] == "Enabled"
    token.expired_time, token.unlimited_quota = t - 10, False
    row = token_row(token, False, 500000)
    assert row["status"] == "3" and row["status_label"] == "Expired" and row["remaining"] == "5"


def test_limit_fields_parse_and_explain_themselves():
    assert parse_limit(" 0 ", "tokens.limit_rpm") == 0
    assert parse_limit("", "tokens.limit_rpm") == 0  # blank = the group's default
    assert parse_limit(" 60 ", "tokens.limit_rpm") == 60
    assert parse_limit("10,000", "tokens.limit_tpm") == 10000
    assert parse_limit("-1", "tokens.limit_concurrency") == -1  # no limit
    for bad, message in (("abc", "Requests per minute: enter a whole number"), ("1.5", "enter a whole number"),
                         ("-2", "must be between -1 and"), (str(2**41), "must be between -1 and")):
        with pytest.raises(ValueError, match=message):
            parse_limit(bad, "tokens.limit_rpm")
    with pytest.raises(ValueError) as caught:
        parse_limit("x", "tokens.limit_tpm", "zh")
    assert error_text(caught.value, lang="zh").startswith("每分钟 token 数：请输入整数")
    assert limit_text(0) == "" and limit_text(-1) == "-1" and limit_text(60) == "60"


def test_limits_summary_is_compact():
    assert compact_count(60) == "60" and compact_count(10_000) == "10k" and compact_count(1_500_000) == "1.5M"
    assert compact_count(12_345) == "12.3k" and compact_count(2 * 10**9) == "2B"
    assert limits_summary(60, 10_000, 4) == "60 rpm · 10k tpm · 4 conc"
    assert limits_summary(0, 0, 0) == "group default" and limits_summary(0, 0, 0, "zh") == "分组默认"
    assert limits_summary(-1, -1, -1) == "no limits"
    assert limits_summary(60, 0, -1) == "60 rpm · ∞ conc"  # 0 = the group's default, not shown
    assert limits_summary(60, 0, 4, "zh") == "60 次/分 · 并发 4"


def test_group_limits_text_reads_the_option():
    raw = json.dumps({"default": {"rpm": 60, "concurrency": 4}, "vip": {"rpm": 0}, "odd": 3,
                      "team": {"tpm": 5000, "user_rpm": 100, "user_concurrency": 8}, "solo": {"user_tpm": 10**6}})
    assert group_limits_text(raw, "default") == "60 rpm · 4 conc"
    assert group_limits_text(raw, "vip") == "no limits"  # 0 in the option = none
    assert group_limits_text(raw, "odd") == "no limits" and group_limits_text(raw, "none") == "no limits"
    assert group_limits_text(raw, "team") == "5k tpm per key; all your keys together: 100 rpm · 8 conc"
    assert group_limits_text(raw, "solo", "zh") == "每个令牌 不限；你的全部令牌合计 1M token/分"
    assert group_limits_text("{broken", "default") == "no limits" and group_limits_text("", "default") == "no limits"


def test_token_row_shows_the_limits():
    token = Token(id=1, user_id=1, key="k" * 48, name="n", expired_time=-1, rpm_limit=1, tpm_limit=0,
                  concurrency_limit=2)
    assert token_row(token, False, 500000)["limits"] == "1 rpm · 2 conc"
    token.rpm_limit = token.concurrency_limit = 0
    assert token_row(token, False, 500000, "zh")["limits"] == "分组默认"
