"""The Tokens page's pure helpers: expiry presets, quota parsing and formatting, table rows (no key)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from oneapi_app.models import Token, TokenStatus
from oneapi_app.pages.tokens import datetime_local, expiry_timestamp, format_quota, parse_quota, token_row


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
