"""Account forms: login, registration and password reset."""

from __future__ import annotations

from pydantic import Field

from .common import Body


class Login(Body):
    username: str = Field(default="", max_length=50)
    password: str = Field(default="", max_length=72)


class Registration(Body):
    username: str = Field(max_length=12)
    password: str = Field(max_length=20)
    display_name: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=50)
    verification_code: str = Field(default="", max_length=64)
    aff_code: str = Field(default="", max_length=32)


class PasswordReset(Body):
    email: str = Field(max_length=50)
    token: str = Field(max_length=64)
