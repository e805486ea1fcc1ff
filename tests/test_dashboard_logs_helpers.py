"""The Logs page's pure helpers: datetime parsing, the filter of the filter bar (self scope for common users),
and the row formatting."""

from __future__ import annotations

from datetime import datetime

import pytest

from oneapi_app.models import Log, LogType
from oneapi_app.pages.logs import build_filter, log_row, parse_local_datetime


def test_parse_local_datetime():
    assert parse_local_datetime("") == 0
    assert parse_local_datetime("  ") == 0
    expected = int(datetime(2025, 3, 4, 5, 6).timestamp())
    assert parse_local_datetime("2025-03-04T05:06") == expected
    assert parse_local_datetime("2025-03-04 05:06:00") == expected
    assert parse_local_datetime("2025-03-04") == int(datetime(2025, 3, 4).timestamp())
    with pytest.raises(ValueError, match="start time"):
        parse_local_datetime("yesterday", "start time")


def test_build_filter_admin_and_self_scope():
    fields = {"f_type": "2", "f_token": " k1 ", "f_model": "gpt-4o-mini", "f_start": "2025-01-01T00:00",
              "f_end": "", "f_username": "alice", "f_channel": "7"}
    admin = build_filter(fields, user_id=1, admin=True)
    assert (admin.type, admin.token_name, admin.model_name, admin.username, admin.channel, admin.user_id) == \
        (2, "k1", "gpt-4o-mini", "alice", 7, None)
    assert admin.start_timestamp == int(datetime(2025, 1, 1).timestamp()) and admin.end_timestamp == 0
    mine = build_filter(fields, user_id=42, admin=False)
    assert (mine.user_id, mine.username, mine.channel, mine.type) == (42, "", 0, 2)  # username/channel ignored
    assert build_filter({}, 3, False).user_id == 3
    assert len(build_filter({"f_model": "m" * 300}, 1, True).model_name) == 100


@pytest.mark.parametrize(("fields", "message"), [
    ({"f_type": "9"}, "type must be between 0 and 5"),
    ({"f_type": "x"}, "type must be a whole number"),
    ({"f_channel": "abc"}, "channel id must be a whole number"),
    ({"f_channel": "-1"}, "channel id must be between"),
    ({"f_start": "2025-02-01", "f_end": "2025-01-01"}, "end time is before the start time"),
    ({"f_end": "soon"}, "end time"),
])
def test_build_filter_rejects_bad_input(fields, message):
    with pytest.raises(ValueError, match=message):
        build_filter(fields, 1, True)


def test_log_row():
    entry = Log(id=5, created_at=int(datetime(2025, 1, 2, 3, 4, 5).timestamp()), type=int(LogType.CONSUME),
                username="bob", token_name="t", model_name="gpt", prompt_tokens=5, completion_tokens=6,
                quota=250000, channel_id=3, request_id="rid", elapsed_time=0, is_stream=True, content="x" * 500)
    row = log_row(entry, True, 500000)
    assert row["time"] == "2025-01-02 03:04:05"
    assert (row["type"], row["type_label"], row["quota"], row["elapsed"], row["stream"], row["channel"]) == \
        ("2", "Consume", "250,000 ($0.50)", "0 ms", "1", "3")
    assert row["content"] == "x" * 500  # the full text (the table truncates and shows it on hover)
    topup = log_row(Log(id=6, type=int(LogType.TOPUP), quota=1000, content="top-up"), False, 500000)
    assert (topup["type_label"], topup["quota"], topup["elapsed"], topup["stream"], topup["channel"]) == \
        ("Top-up", "1,000", "", "", "")
    assert log_row(Log(id=7, type=42), False, 1)["type_label"] == "Type 42"
