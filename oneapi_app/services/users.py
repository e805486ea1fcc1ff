"""Users: bootstrap of the root account and authentication."""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.passwords import hash_password, verify_password
from ..models import Role, Token, TokenStatus, User, UserStatus, now
from ..settings import Settings
from . import keys

log = logging.getLogger(__name__)

ROOT_USERNAME = "root"
ROOT_DEFAULT_PASSWORD = "123456"
ROOT_QUOTA = 500_000_000_000_000


async def ensure_root_user(session: AsyncSession, settings: Settings) -> User | None:
    """On an empty users table create root/123456 (role 100), INITIAL_ROOT_TOKEN and INITIAL_ROOT_ACCESS_TOKEN.

    Returns the created user, or None when users already exist.
    """
    count = (await session.exec(select(func.count()).select_from(User))).one()
    if count:
        return None
    password_hash = await asyncio.to_thread(hash_password, ROOT_DEFAULT_PASSWORD)
    root = User(
        username=ROOT_USERNAME,
        password=password_hash,
        display_name="Root User",
        role=Role.ROOT,
        status=UserStatus.ENABLED,
        quota=ROOT_QUOTA,
        access_token=settings.initial_root_access_token or keys.uuid_hex(),
        aff_code=keys.aff_code(),
    )
    session.add(root)
    await session.flush()
    if settings.initial_root_token:
        session.add(Token(
            user_id=root.id, key=settings.initial_root_token, status=TokenStatus.ENABLED,
            name="Initial Root Token", created_time=now(), accessed_time=now(), expired_time=-1,
            remain_quota=0, unlimited_quota=True,
        ))
    await session.commit()
    log.warning("created the root account: username 'root', password '123456'; log in and change the password now")
    return root


async def authenticate(session: AsyncSession, login: str, password: str) -> User | None:
    """Username or email + password. None unless the password matches and the user is enabled.

    The bcrypt check runs even for unknown users, so a wrong username costs the same time as a wrong password.
    """
    login = login.strip()
    user = None
    if login:
        user = (await session.exec(
            select(User).where(or_(User.username == login, User.email == login)).where(User.status != UserStatus.DELETED)
        )).first()
    ok = await asyncio.to_thread(verify_password, password, user.password if user else None)
    if not ok or user is None or user.status != UserStatus.ENABLED:
        return None
    return user
