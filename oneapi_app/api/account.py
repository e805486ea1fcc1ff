"""Accounts: login, logout, registration, email verification and password reset, the user's own profile,
access token, affiliate code, top-up by code, dashboard data and models."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from ..errors import AppError
from ..i18n import msg
from ..models import Ability, User
from ..models.schemas import Login, PasswordReset, Redeem, Registration, SelfUpdate, UserPublic
from ..services import accounts, redemptions, users
from ..services import logs as log_service
from ..services.channel_registry import default_models
from ..services.verification import EMAIL_VERIFICATION, CodeStore
from .deps import CriticalRateLimit, CurrentUser, RuntimeDep, SessionDep, TurnstileCheck, WebSessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["account"])
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
    await accounts.register(runtime, session, body)
    return api_success(None)


@router.get("/verification", dependencies=[CriticalRateLimit, TurnstileCheck])
async def send_verification(runtime: RuntimeDep, session: SessionDep, email: Email = "") -> dict:
    await accounts.send_verification_mail(runtime, session, email)
    return api_success(None)


@router.get("/reset_password", dependencies=[CriticalRateLimit, TurnstileCheck])
async def send_password_reset(runtime: RuntimeDep, session: SessionDep, email: Email = "") -> dict:
    await accounts.send_reset_mail(runtime, session, email)
    return api_success(None)


@router.post("/user/reset", dependencies=[CriticalRateLimit])
async def reset_password(body: PasswordReset, runtime: RuntimeDep, session: SessionDep) -> dict:
    return api_success(await accounts.confirm_reset(runtime, session, body.email, body.token))


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
    email = accounts.check_email(runtime.options, email)
    if not await CodeStore.of(runtime).check(EMAIL_VERIFICATION, email, code):
        raise AppError(msg("email.bad_code"), status=200)
    await users.bind(session, user, "email", email)
    return api_success(None)


