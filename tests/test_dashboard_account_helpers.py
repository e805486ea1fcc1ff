"""The Account page's pure helpers: role names, the invitation link, the edit form's PUT /api/user/self body."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oneapi_app.pages.account import invitation_link, profile_changes, role_name
from oneapi_app.pages.common import public_address


def test_role_name():
    assert role_name(1) == "Common user"
    assert role_name(10) == "Admin"
    assert role_name(100) == "Root"
    assert role_name(0) == "Guest"
    assert role_name(5) == "Role 5"


def test_invitation_link():
    assert invitation_link("http://nas.local:3000/", "Ab12") == "http://nas.local:3000/register?aff=Ab12"
    assert invitation_link("https://api.example", "x") == "https://api.example/register?aff=x"


def test_profile_changes_only_what_changed():
    assert profile_changes("Alice", "", "", "alice") == {"display_name": "Alice"}
    assert profile_changes("Alice", "newpass123", "newpass123", "Alice") == {"password": "newpass123"}
    assert profile_changes("", "", "", "Old") == {"display_name": ""}


def test_profile_changes_refusals():
    with pytest.raises(ValueError, match="nothing to save"):
        profile_changes("Same", "", "", "Same")
    with pytest.raises(ValueError, match="do not match"):
        profile_changes("Same", "newpass123", "newpass124", "Same")
    with pytest.raises(ValidationError):  # the API's own bound (SelfUpdate): at most 20 characters
        profile_changes("x" * 21, "", "", "Same")
    with pytest.raises(ValidationError):
        profile_changes("Same", "p" * 21, "p" * 21, "Same")


def test_public_address():
    default = "http://localhost:3000"
    assert public_address(default, "http://nas.local:3000") == "http://nas.local:3000"  # the browser's address
    assert public_address("", "https://gw.example/") == "https://gw.example"
    assert public_address("https://api.example/", "http://nas.local:3000") == "https://api.example"  # set: it wins
    assert public_address(default, "") == default and public_address("", "null") == default  # nothing better
