"""Fixtures for the /api tests: a root access token, helpers to create users of each role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from oneapi_app.models import Role, User
from oneapi_app.services import users as user_service

ROOT_ACCESS_TOKEN = "0123456789abcdef0123456789abcdef"
ROOT = {"Authorization": ROOT_ACCESS_TOKEN}


@pytest.fixture
def settings(make_settings):
    return make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN)


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": self.token}


async def make_account(runtime, username: str, role: int = Role.COMMON, password: str = "password123",
                       email: str = "") -> Account:
    async with runtime.db.session() as s:
        user = await user_service.create_user(runtime.db, s, runtime.options, username=username, password=password,
                                              email=email)
        if role != Role.COMMON:
            user.role = role
            s.add(user)
            await s.commit()
        return Account(user.id, username, password, user.access_token)


@pytest.fixture
async def common(runtime) -> Account:
    return await make_account(runtime, "alice", email="alice@example.com")


@pytest.fixture
async def admin(runtime) -> Account:
    return await make_account(runtime, "adam", Role.ADMIN)


async def get_user(runtime, username: str) -> User:
    async with runtime.db.session() as s:
        return (await s.exec(select(User).where(User.username == username))).one()


async def set_option(client, key: str, value) -> None:
    r = await client.put("/api/option/", json={"key": key, "value": value}, headers=ROOT)
    assert r.json()["success"], r.json()
