"""Users: bootstrap of the root account, authentication, and the write rules of both front doors (role rules,
validation, what an edit keeps). Every change of a stored user is announced on ``bus`` ("user", id) after its
commit, so the relay's user cache drops the stale row at once."""

from __future__ import annotations

import asyncio
import logging
import unicodedata

from sqlalchemy.exc import IntegrityError
from sqlmodel import desc, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.passwords import hash_password, verify_password
from ..changes import Changes
from ..db import Database
from ..errors import AppError, BadRequest, NotFound
from ..i18n import msg
from ..models import LogType, Role, Token, TokenStatus, User, UserStatus, now
from ..models.schemas import SelfUpdate, UserUpdate, given_fields
from ..settings import Settings
from . import keys
from .ledger import add_quota, move_user_quota
from .logs import format_quota, record
from .options import Options
from .search import keyword_filter

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


# --- accounts: creation, edits, role rules --------------------------------------------------------------

PAGE_SIZE = 10
USER_ORDERS = {"quota": User.quota, "used_quota": User.used_quota, "request_count": User.request_count}


ROOT_LOOKALIKES = frozenset({"root", "rootuser", "超级管理员"})
RESERVED_NAME = msg("user.reserved_name")


def refuse_root_lookalike(name: str, role: int = Role.COMMON) -> None:
    """Nobody but root may be called root: "Root", "ROOT", "Root User", "root_user" (case, width, spaces and
    punctuation ignored) are refused for usernames and display names of every other user."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", name or "").casefold() if ch.isalnum())
    if role < Role.ROOT and folded in ROOT_LOOKALIKES:
        raise BadRequest(RESERVED_NAME)


def check_username(username: str, role: int = Role.COMMON) -> str:
    username = (username or "").strip()
    if not username or len(username) > 12:
        raise BadRequest(msg("user.name_length"))
    if any(ch.isspace() or ord(ch) < 32 for ch in username):
        raise BadRequest(msg("user.name_chars"))
    refuse_root_lookalike(username, role)
    return username


def check_password(password: str) -> str:
    if not isinstance(password, str) or not 8 <= len(password) <= 20:
        raise BadRequest(msg("user.password_length"))
    return password


def check_display_name(name: str) -> str:
    if len(name or "") > 20:
        raise BadRequest(msg("user.display_name_length"))
    return name or ""


async def _unique_aff_code(session: AsyncSession) -> str:
    for _ in range(20):
        code = keys.aff_code()
        if (await session.exec(select(User.id).where(User.aff_code == code))).first() is None:
            return code
    return keys.random_string(8)


async def username_taken(session: AsyncSession, username: str) -> bool:
    return (await session.exec(select(User.id).where(User.username == username))).first() is not None


async def create_user(db: Database, session: AsyncSession, options: Options, *, username: str, password: str,
                      display_name: str = "", email: str = "", aff_code: str = "", github_id: str = "",
                      oidc_id: str = "", lark_id: str = "", wechat_id: str = "") -> User:
    """Insert a common user with one-api's signup rewards and default token; system logs for the rewards."""
    username = check_username(username)
    check_password(password)
    display_name = check_display_name(display_name) or username
    try:
        refuse_root_lookalike(display_name)
    except BadRequest:
        if not (github_id or oidc_id or lark_id or wechat_id):
            raise
        display_name = username  # a provider's profile name is not ours to refuse: fall back, do not block login
    if len(email or "") > 50:
        raise BadRequest(msg("user.email_length"))
    if await username_taken(session, username):
        raise BadRequest(msg("user.name_taken"))
    inviter = None
    if aff_code:
        inviter = (await session.exec(select(User).where(User.aff_code == aff_code.strip(),
                                                         User.status == UserStatus.ENABLED))).first()
    user = User(username=username, password=await asyncio.to_thread(hash_password, password),
                display_name=display_name, email=email or "", role=Role.COMMON, status=UserStatus.ENABLED,
                quota=options.QuotaForNewUser, access_token=keys.uuid_hex(), aff_code=await _unique_aff_code(session),
                inviter_id=inviter.id if inviter else 0, github_id=github_id, oidc_id=oidc_id, lark_id=lark_id,
                wechat_id=wechat_id)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise BadRequest(msg("user.name_taken")) from None
    if inviter is not None and options.QuotaForInvitee > 0:
        await add_quota(session, user.id, options.QuotaForInvitee)
    if inviter is not None and options.QuotaForInviter > 0:
        await add_quota(session, inviter.id, options.QuotaForInviter)
    session.add(Token(user_id=user.id, key=keys.token_key(), status=TokenStatus.ENABLED, name="default",
                      created_time=now(), accessed_time=now(), expired_time=-1, remain_quota=0, unlimited_quota=True))
    await session.commit()
    await session.refresh(user)
    fmt = lambda q: format_quota(q, options.QuotaPerUnit, options.DisplayInCurrencyEnabled)
    if options.QuotaForNewUser > 0:
        await record(db, user_id=user.id, type=LogType.SYSTEM, username=user.username,
                     content=f"新用户注册赠送 {fmt(options.QuotaForNewUser)}")
    if inviter is not None and options.QuotaForInvitee > 0:
        await record(db, user_id=user.id, type=LogType.SYSTEM, username=user.username,
                     content=f"使用邀请码赠送 {fmt(options.QuotaForInvitee)}")
    if inviter is not None and options.QuotaForInviter > 0:
        await record(db, user_id=inviter.id, type=LogType.SYSTEM, username=inviter.username,
                     content=f"邀请用户赠送 {fmt(options.QuotaForInviter)}")
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.status == UserStatus.DELETED:
        raise NotFound(msg("user.not_found", id=user_id))
    return user


async def list_users(session: AsyncSession, page: int, order: str = "") -> list[User]:
    column = USER_ORDERS.get(order)
    stmt = select(User).where(User.status != UserStatus.DELETED)
    stmt = stmt.order_by(desc(column), desc(User.id)) if column is not None else stmt.order_by(desc(User.id))
    return list((await session.exec(stmt.offset(page * PAGE_SIZE).limit(PAGE_SIZE))).all())


async def search_users(session: AsyncSession, keyword: str) -> list[User]:
    found = keyword_filter(keyword, User.id, User.username, User.email, User.display_name)
    stmt = select(User).where(User.status != UserStatus.DELETED, found).order_by(desc(User.id)).limit(100)
    return list((await session.exec(stmt)).all())


def _outranks(actor: User, target_role: int) -> bool:
    return actor.role == Role.ROOT or actor.role > target_role


async def get_user_for(session: AsyncSession, actor: User, user_id: int) -> User:
    user = await get_user(session, user_id)
    if not _outranks(actor, user.role):
        raise AppError(msg("user.no_read_higher"), status=200)
    return user


async def update_user_by_admin(db: Database, session: AsyncSession, actor: User, options: Options, user_id: int,
                               changes: UserUpdate | dict, *, bus: Changes) -> User:
    """PUT /api/user/: only the fields given; role rules as one-api (nobody edits or grants >= own role unless
    root); a quota change writes a manage log."""
    changes = given_fields(changes)
    user = await get_user(session, user_id)
    if not _outranks(actor, user.role):
        raise AppError(msg("user.no_update_higher"), status=200)
    new_role = changes.get("role")
    if new_role is not None:
        if new_role not in (Role.COMMON, Role.ADMIN, Role.ROOT):
            raise BadRequest(msg("user.bad_role"))
        if not _outranks(actor, new_role) or (new_role == Role.ROOT) != (user.role == Role.ROOT):
            raise AppError(msg("user.no_raise_role"), status=200)
    old_quota = user.quota
    await _apply_profile(session, user, changes)
    if changes.get("email") is not None:
        user.email = changes["email"]
    if changes.get("group") is not None:
        group = changes["group"].strip()
        if not group or len(group) > 32:
            raise BadRequest(msg("user.bad_group"))
        user.group = group
    if new_role is not None:
        user.role = new_role
    session.add(user)
    if changes.get("quota") is not None and changes["quota"] != old_quota:
        # As a delta in SQL, so quota the relay spends meanwhile is not overwritten; the manage log row
        # commits with it.
        fmt = lambda q: format_quota(q, options.QuotaPerUnit, options.DisplayInCurrencyEnabled)
        await session.flush()
        await move_user_quota(db, session, user_id=user.id, delta=changes["quota"] - old_quota,
                              type=LogType.MANAGE, username=user.username,
                              content=lambda new: f"管理员将用户额度从 {fmt(old_quota)}修改为 {fmt(new)}")
    else:
        await session.commit()
    await session.refresh(user)
    await bus.publish("user", user.id)
    return user


async def manage_user(session: AsyncSession, actor: User, username: str, action: str, *, bus: Changes) -> User:
    user = (await session.exec(select(User).where(User.username == username,
                                                  User.status != UserStatus.DELETED))).first()
    if user is None:
        raise AppError(msg("user.missing"), status=200)
    if not _outranks(actor, user.role):
        raise AppError(msg("user.no_update_higher"), status=200)
    if action == "disable":
        if user.role == Role.ROOT:
            raise AppError(msg("user.no_disable_root"), status=200)
        user.status = UserStatus.DISABLED
    elif action == "enable":
        user.status = UserStatus.ENABLED
    elif action == "delete":
        if user.role == Role.ROOT:
            raise AppError(msg("user.no_delete_root"), status=200)
        _soft_delete(user)
    elif action == "promote":
        if actor.role != Role.ROOT:
            raise AppError(msg("user.no_promote"), status=200)
        if user.role >= Role.ADMIN:
            raise AppError(msg("user.already_admin"), status=200)
        user.role = Role.ADMIN
    elif action == "demote":
        if user.role == Role.ROOT:
            raise AppError(msg("user.no_demote_root"), status=200)
        if user.role == Role.COMMON:
            raise AppError(msg("user.already_common"), status=200)
        user.role = Role.COMMON
    else:
        raise BadRequest(msg("user.bad_action"))
    session.add(user)
    await session.commit()
    await bus.publish("user", user.id)
    return user


def _soft_delete(user: User) -> None:
    """one-api's soft delete: status 3 and the username freed; the access token stops working too."""
    user.status = UserStatus.DELETED
    user.username = f"deleted_{keys.uuid_hex()}"
    user.access_token = None


async def delete_user_by_admin(session: AsyncSession, actor: User, user_id: int, *, bus: Changes) -> None:
    user = await get_user(session, user_id)
    if actor.role <= user.role:
        raise AppError(msg("user.no_delete_higher"), status=200)
    _soft_delete(user)
    session.add(user)
    await session.commit()
    await bus.publish("user", user_id)


async def delete_self(session: AsyncSession, user: User, *, bus: Changes) -> None:
    if user.role == Role.ROOT:
        raise AppError(msg("user.no_delete_root_account"), status=200)
    _soft_delete(user)
    session.add(user)
    await session.commit()
    await bus.publish("user", user.id)


async def _apply_profile(session: AsyncSession, user: User, changes: dict) -> None:
    """Username, password and display name: what both an admin edit and a self edit may change."""
    if changes.get("username") is not None:
        name = (changes["username"] or "").strip()
        if name != user.username:  # (a stored name stays valid even if the rules changed since)
            name = check_username(name, user.role)
            if await username_taken(session, name):
                raise BadRequest(msg("user.name_taken"))
        user.username = name
    if changes.get("display_name") is not None:
        display_name = check_display_name(changes["display_name"])
        if display_name != user.display_name:
            refuse_root_lookalike(display_name, user.role)
        user.display_name = display_name
    if changes.get("password"):  # an empty password keeps the stored one
        user.password = await asyncio.to_thread(hash_password, check_password(changes["password"]))


async def update_self(session: AsyncSession, user: User, changes: SelfUpdate | dict, *, bus: Changes) -> User:
    await _apply_profile(session, user, given_fields(changes))
    session.add(user)
    await session.commit()
    await bus.publish("user", user.id)
    return user


async def new_access_token(session: AsyncSession, user: User) -> str:
    user.access_token = keys.uuid_hex()
    session.add(user)
    await session.commit()
    return user.access_token


async def ensure_aff_code(session: AsyncSession, user: User) -> str:
    if not user.aff_code:
        user.aff_code = await _unique_aff_code(session)
        session.add(user)
        await session.commit()
    return user.aff_code


async def top_up(db: Database, session: AsyncSession, options: Options, user_id: int, quota: int,
                 remark: str = "", *, bus: Changes) -> User:
    """POST /api/topup (payment systems): atomic quota increase and a top-up log."""
    if quota <= 0:
        raise BadRequest(msg("user.bad_quota"))
    user = await get_user(session, user_id)
    text = remark or f"通过 API 充值 {format_quota(quota, options.QuotaPerUnit, options.DisplayInCurrencyEnabled)}"
    await move_user_quota(db, session, user_id=user_id, delta=quota, type=LogType.TOPUP, username=user.username,
                          content=text, log_quota=quota)
    await session.refresh(user)
    await bus.publish("user", user_id)
    return user


async def find_by_field(session: AsyncSession, field: str, value: str) -> User | None:
    column = getattr(User, field)
    return (await session.exec(select(User).where(column == value, User.status != UserStatus.DELETED))).first()


async def next_numbered_username(session: AsyncSession, prefix: str) -> str:
    """one-api names OAuth users ``<prefix>_<max id + 1>``."""
    max_id = (await session.exec(select(func.max(User.id)))).one() or 0
    candidate = f"{prefix}_{max_id + 1}"
    n = max_id + 1
    while await username_taken(session, candidate):
        n += 1
        candidate = f"{prefix}_{n}"
    return candidate


async def reset_to_random_password(session: AsyncSession, user: User, *, bus: Changes) -> str:
    """Password reset confirmed: a random 12-hex password (one-api), returned once to the caller."""
    password = keys.uuid_hex()[:12]
    user.password = await asyncio.to_thread(hash_password, password)
    session.add(user)
    await session.commit()
    await bus.publish("user", user.id)
    return password


BINDABLE = {"email": msg("email.taken"), "github_id": msg("bind.github_taken"), "oidc_id": msg("bind.oidc_taken"),
            "lark_id": msg("bind.lark_taken"), "wechat_id": msg("bind.wechat_taken")}


async def bind(session: AsyncSession, user: User, column: str, value: str) -> User:
    """Attach an email or an external account to ``user``; refused when another user already has it."""
    if column not in BINDABLE:
        raise BadRequest(msg("user.cannot_bind", column=column))
    owner = await find_by_field(session, column, value)
    if owner is not None and owner.id != user.id:
        raise AppError(BINDABLE[column], status=200)
    setattr(user, column, value)
    session.add(user)
    await session.commit()
    return user
