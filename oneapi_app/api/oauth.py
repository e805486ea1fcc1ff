"""OAuth login and binding: GitHub and OIDC (authlib), plus the state endpoint of one-api's UI.

Flow: GET /api/oauth/state (or /api/oauth/<provider>/authorize, which redirects) stores a random state in the
session; the provider sends the browser back to ``{ServerAddress}/oauth/<provider>?code&state``, whose page
calls GET /api/oauth/<provider>?code&state. A state that does not match the session's is refused with 403.
A logged-in caller binds the external account; otherwise it logs in, creating ``<provider>_<n>`` if needed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse

from ..auth import oauth
from ..auth import sessions as session_cookie
from ..errors import AppError
from ..models import User, UserStatus
from ..services import users
from .account import login_data
from .deps import CriticalRateLimit, RuntimeDep, SessionDep, WebSessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["oauth"])
Code = Annotated[str, Query(max_length=512)]
State = Annotated[str, Query(max_length=64)]


@router.get("/oauth/state", dependencies=[CriticalRateLimit])
async def oauth_state(web: WebSessionDep) -> dict:
    state = oauth.new_state()
    web.data["oauth_state"] = state
    web.save()
    return api_success(state)


async def _provider(name: str, runtime) -> oauth.Provider:
    if name == "github":
        return oauth.github(runtime.options, runtime.settings)
    return await oauth.oidc(runtime.options, runtime.http)


@router.get("/oauth/{provider}/authorize", dependencies=[CriticalRateLimit])
async def authorize(provider: Annotated[str, Path(max_length=20)], runtime: RuntimeDep, web: WebSessionDep):
    if provider not in ("github", "oidc"):
        raise AppError(f"unknown OAuth provider {provider!r}", status=200)
    p = await _provider(provider, runtime)
    state = oauth.new_state()
    web.data["oauth_state"] = state
    response = RedirectResponse(p.authorization_url(state), status_code=302)
    session_cookie.write_session(response, web.request, web.secret, web.data)
    return response


async def _callback(name: str, code: str, state: str, runtime, session, web) -> dict:
    expected = web.data.get("oauth_state")
    if not state or not isinstance(expected, str) or not secrets.compare_digest(state, expected):
        raise AppError("state is empty or not same", status=403)
    provider = await _provider(name, runtime)
    external = await provider.fetch_user(code)
    web.data.pop("oauth_state", None)  # single use
    column = f"{name}_id"
    owner = await users.find_by_field(session, column, external.id)
    current_id = web.data.get("id")
    if isinstance(current_id, int) and current_id > 0:  # bind to the logged-in user
        me = await session.get(User, current_id)
        if me is None or me.status != UserStatus.ENABLED:
            web.clear()
            raise AppError("用户已被封禁", status=200)
        if owner is not None and owner.id != me.id:
            raise AppError(f"该 {name} 账户已被绑定", status=200)
        setattr(me, column, external.id)
        session.add(me)
        await session.commit()
        web.save()
        return api_success(None, message="bind")
    if owner is None:
        if not runtime.options.RegisterEnabled:
            raise AppError("管理员关闭了新用户注册", status=200)
        username = external.username
        if not username or len(username) > 12 or await users.username_taken(session, username):
            username = await users.next_numbered_username(session, name)
        owner = await users.create_user(
            runtime.db, session, runtime.options, username=username, password=secrets.token_hex(10),
            display_name=(external.display_name or username)[:20], email=external.email[:50],
            **{column: external.id})
    if owner.status != UserStatus.ENABLED:
        raise AppError("用户已被封禁", status=200)
    web.login(owner)
    return api_success(login_data(owner))


@router.get("/oauth/github", dependencies=[CriticalRateLimit])
async def github_callback(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep, code: Code = "",
                          state: State = "") -> dict:
    return await _callback("github", code, state, runtime, session, web)


@router.get("/oauth/oidc", dependencies=[CriticalRateLimit])
async def oidc_callback(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep, code: Code = "",
                        state: State = "") -> dict:
    return await _callback("oidc", code, state, runtime, session, web)
