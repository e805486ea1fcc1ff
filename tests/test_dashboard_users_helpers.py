"""The Users and Redemptions pages' pure helpers: table rows (no secrets), number parsing, error messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oneapi_app.errors import AppError
from oneapi_app.models import Redemption, RedemptionStatus, Role, User, UserStatus
from oneapi_app.models.schemas import UserEdit
from oneapi_app.pages.redemptions import redemption_row
from oneapi_app.pages.users import error_text, parse_whole, user_row


def test_user_row_has_no_secrets():
    user = User(id=7, username="bob", password="$2b$12$secret-hash", display_name="Bob", role=Role.ADMIN,
                status=UserStatus.DISABLED, quota=1_000_000, used_quota=250_000, request_count=1234,
                access_token="tok-secret", group="vip")
    row = user_row(user, True, 500000)
    assert row["id"] == "7" and row["username"] == "bob" and row["group"] == "vip"
    assert row["role"] == "10" and row["role_label"] == "Admin"
    assert row["status"] == "2" and row["status_label"] == "Disabled"
    assert row["quota"] == "1,000,000 ($2.00)" and row["used_quota"] == "250,000 ($0.50)"
    assert row["request_count"] == "1,234"
    assert "secret" not in repr(row)
    assert user_row(user, False, 500000)["quota"] == "1,000,000"


def test_redemption_row_never_shows_the_code():
    r = Redemption(id=3, user_id=1, key="abcdef0123456789abcdef0123456789", status=RedemptionStatus.USED,
                   name="promo", quota=1_000_000, created_time=0, redeemed_time=0)
    row = redemption_row(r, 500000)
    assert row["status"] == "3" and row["status_label"] == "Used"
    assert row["quota"] == "1,000,000 ($2.00)" and row["created"] == "-" and row["redeemed"] == "-"
    assert r.key not in repr(row)


def test_parse_whole():
    assert parse_whole(" 1,000_000 ", "quota") == 1_000_000
    assert parse_whole("-5", "quota") == -5  # the request models reject it with their own message
    with pytest.raises(ValueError, match="quota must be a whole number"):
        parse_whole("1.5", "quota")


def test_error_text():
    assert error_text(AppError("nope", status=200)) == "nope"
    assert error_text(ValueError("bad count")) == "bad count"
    with pytest.raises(ValidationError) as info:
        UserEdit.model_validate({"id": 1, "quota": -1})
    assert error_text(info.value).startswith("quota: ")
    assert error_text(RuntimeError("internal detail")) == "Unexpected error; see the server log."
