"""Accounts: login, logout, registration, email verification and password reset, the user's own profile,
access token, affiliate code, top-up by code, dashboard data and models."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from sqlmodel import col, select

from ..errors import AppError
from ..i18n import msg
from ..models import Ability, User
from ..models.schemas import Login, PasswordReset, Redeem, Registration, SelfUpdate, UserPublic
from ..services import logs as log_service
from ..services import mail, redemptions, users
from ..services.channel_registry import default_models
from ..services.verification import EMAIL_VERIFICATION, PASSWORD_RESET, CodeStore, new_code, new_reset_token
from .deps import CriticalRateLimit, CurrentUser, RuntimeDep, SessionDep, TurnstileCheck, WebSessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["account"])
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
Email = Annotated[str, Query(max_length=50)]


def login_data(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "status": user.status}


def public_user(user: User) -> dict:
    return UserPublic.model_validate(user, from_attributes=True).model_dump()


@router.post("/user/login", dependencies=[CriticalRateLimit])
async def login(body: Login, runtime: RuntimeDep, session: SessionDep, web: WebSessionDep) -> dict:
    if not runtime.options.PasswordLoginEnabled:
        raise AppError(msg("login.password_disabled"), status=200)
    if not body.username or not body.password:
        raise AppError(msg("login.missing"), status=200)
    user = await users.authenticate(session, body.username, body.password)
    if user is None:
        raise AppError(msg("login.failed"), status=200)
    web.login(user)
    return api_success(login_data(user))


@router.get("/user/logout")
async def logout(web: WebSessionDep) -> dict:
    web.clear()
    return api_success(None)


@router.post("/user/register", dependencies=[CriticalRateLimit, TurnstileCheck])
async def register(body: Registration, runtime: RuntimeDep, session: SessionDep) -> dict:
    options = runtime.options
    if not options.RegisterEnabled:
        raise AppError(msg("register.disabled"), status=200)
    if not options.PasswordRegisterEnabled:
        raise AppError(msg("register.password_disabled"), status=200)
    email = ""
    if options.EmailVerificationEnabled:
        email = body.email.strip()
        if not email or not body.verification_code:
            raise AppError(msg("register.email_required"), status=200)
        if await users.find_by_field(session, "email", email) is not None:
            raise AppError(msg("email.taken"), status=200)
        if not await CodeStore.of(runtime).check(EMAIL_VERIFICATION, email, body.verification_code):
            raise AppError(msg("email.bad_code"), status=200)
    await users.create_user(runtime.db, session, options, username=body.username, password=body.password,
                            display_name=body.display_name, email=email, aff_code=body.aff_code)
    return api_success(None)


def _check_email(options, email: str) -> str:
    email = email.strip()
    if not EMAIL_RE.match(email):
        raise AppError(msg("email.invalid"), status=200)
    if options.EmailDomainRestrictionEnabled:
        domain = email.rpartition("@")[2].lower()
        allowed = {d.strip().lower() for d in options.EmailDomainWhitelist.split(",") if d.strip()}
        if domain not in allowed:
            raise AppError(msg("email.domain_not_allowed"), status=200)
    return email


@router.get("/verification", dependencies=[CriticalRateLimit, TurnstileCheck])
async def send_verification(runtime: RuntimeDep, session: SessionDep, email: Email = "") -> dict:
    options = runtime.options
    email = _check_email(options, email)
    if await users.find_by_field(session, "email", email) is not None:
        raise AppError(msg("email.taken"), status=200)
    code = new_code()
    await CodeStore.of(runtime).put(EMAIL_VERIFICATION, email, code)
    html = (f"<p>您好，你正在进行{options.SystemName}邮箱验证。</p><p>您的验证码为: <strong>{code}</strong></p>"
            "<p>验证码 10 分钟内有效，如果不是本人操作，请忽略。</p>")
    await mail.send_email(options, email, f"{options.SystemName}邮箱验证邮件", html)
    return api_success(None)


@router.get("/reset_password", dependencies=[CriticalRateLimit, TurnstileCheck])
async def send_password_reset(runtime: RuntimeDep, session: SessionDep, email: Email = "") -> dict:
    options = runtime.options
    email = email.strip()
    if not EMAIL_RE.match(email):
        raise AppError(msg("email.invalid"), status=200)
    if await users.find_by_field(session, "email", email) is None:
        raise AppError(msg("email.not_registered"), status=200)
    token = new_reset_token()
    await CodeStore.of(runtime).put(PASSWORD_RESET, email, token)
    link = f"{options.ServerAddress.rstrip('/')}/user/reset?{urlencode({'email': email, 'token': token})}"
    html = (f"<p>您好，你正在进行{options.SystemName}密码重置。</p><p>点击 <a href='{link}'>此处</a> 进行密码重置。</p>"
            f"<p>如果链接无法点击，请尝试复制以下链接到浏览器中打开：<br>{link}</p><p>重置链接 10 分钟内有效。</p>")
    await mail.send_email(options, email, f"{options.SystemName}密码重置", html)
    return api_success(None)


@router.post("/user/reset", dependencies=[CriticalRateLimit])
async def reset_password(body: PasswordReset, runtime: RuntimeDep, session: SessionDep) -> dict:
    email = body.email.strip()
    if not email or not body.token:
        raise AppError(msg("api.invalid_parameter"), status=200)
    if not await CodeStore.of(runtime).check(PASSWORD_RESET, email, body.token):
        raise AppError(msg("reset.bad_link"), status=200)
    user = await users.find_by_field(session, "email", email)
    if user is None:
        raise AppError(msg("email.not_registered"), status=200)
    password = await users.reset_to_random_password(session, user, bus=runtime.changes)
    return api_success(password)


# --- the user's own account ---------------------------------------------------------------------------

@router.get("/user/self")
async def get_self(user: CurrentUser) -> dict:
    return api_success(public_user(user))


@router.put("/user/self")
async def update_self(body: SelfUpdate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
                      web: WebSessionDep) -> dict:
    await users.update_self(session, user, body, bus=runtime.changes)
    if web.data.get("id") == user.id:
        web.login(user)  # this session stays valid after its own password change; the others end
    return api_success(None)


@router.delete("/user/self")
async def delete_self(user: CurrentUser, session: SessionDep, runtime: RuntimeDep, web: WebSessionDep) -> dict:
    await users.delete_self(session, user, bus=runtime.changes)
    web.clear()
    return api_success(None)


@router.get("/user/token")
async def new_access_token(user: CurrentUser, session: SessionDep) -> dict:
    return api_success(await users.new_access_token(session, user))


@router.get("/user/aff")
async def aff_code(user: CurrentUser, session: SessionDep) -> dict:
    return api_success(await users.ensure_aff_code(session, user))


@router.post("/user/topup")
async def redeem(body: Redeem, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    quota = await redemptions.redeem(runtime.db, session, runtime.options, user, body.key, bus=runtime.changes)
    return api_success(quota)


@router.get("/user/dashboard")
async def dashboard(user: CurrentUser, runtime: RuntimeDep) -> dict:
    return api_success(await log_service.dashboard(runtime.db, user.id))


@router.get("/user/available_models")
async def available_models(user: CurrentUser, session: SessionDep) -> dict:
    stmt = select(Ability.model).where(col(Ability.group) == user.group, col(Ability.enabled).is_(True)).distinct()
    return api_success(sorted((await session.exec(stmt)).all()))


@router.get("/models")
async def models_by_type(user: CurrentUser) -> dict:
    return api_success(default_models())


@router.get("/oauth/email/bind")
async def bind_email(user: CurrentUser, runtime: RuntimeDep, session: SessionDep,
                     email: Email = "", code: Annotated[str, Query(max_length=64)] = "") -> dict:
    email = _check_email(runtime.options, email)
    if not await CodeStore.of(runtime).check(EMAIL_VERIFICATION, email, code):
        raise AppError(msg("email.bad_code"), status=200)
    await users.bind(session, user, "email", email)
    return api_success(None)


