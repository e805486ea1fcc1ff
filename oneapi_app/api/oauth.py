"""OAuth login and binding: GitHub and OIDC (authlib), plus the state endpoint of one-api's UI.

Flow: GET /api/oauth/state (or /api/oauth/<provider>/authorize, which redirects) stores a random state in the
session; the provider sends the browser back to ``{ServerAddress}/oauth/<provider>?code&state``, whose page
calls GET /api/oauth/<provider>?code&state. A state that does not match the session's is refused with 403.
A logged-in caller binds the external account; otherwise it logs in, creating ``<provider>_<n>`` if needed.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse

from ..auth import oauth
from ..auth import sessions as session_cookie
from ..errors import AppError
from ..i18n import msg
from ..models import User, UserStatus
from ..services import users
from .account import login_data
from .deps import CriticalRateLimit, CurrentUser, RuntimeDep, SessionDep, WebSessionDep
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
    if provider not in ("github", "oidc", "lark"):
        raise AppError(msg("oauth.unknown_provider", provider=repr(provider)), status=200)
    state = oauth.new_state()
    if provider == "lark":
        options = runtime.options
        if not options.LarkClientId:
            raise AppError(msg("oauth.lark_disabled"), status=200)
        redirect = f"{options.ServerAddress.rstrip('/')}/oauth/lark"
        url = f"{oauth.LARK_AUTHORIZE}?{urlencode({'redirect_uri': redirect, 'app_id': options.LarkClientId, 'state': state})}"
    else:
        url = (await _provider(provider, runtime)).authorization_url(state)
    web.data["oauth_state"] = state
    response = RedirectResponse(url, status_code=302)
    session_cookie.write_session(response, web.request, web.secret, web.data)
    return response


def _check_state(web, state: str) -> None:
    expected = web.data.get("oauth_state")
    if not state or not isinstance(expected, str) or not secrets.compare_digest(state, expected):
        raise AppError(msg("oauth.bad_state"), status=403)


async def _callback(name: str, code: str, state: str, runtime, session, web) -> dict:
    _check_state(web, state)
    if name == "lark":
        external = await oauth.lark_user(runtime.options, runtime.http, code)
    else:
        provider = await _provider(name, runtime)
        external = await provider.fetch_user(code)
    web.data.pop("oauth_state", None)  # single use
    return await _login_or_bind(name, external, runtime, session, web)


async def _login_or_bind(name: str, external: oauth.ExternalUser, runtime, session, web) -> dict:
    column = f"{name}_id"
    owner = await users.find_by_field(session, column, external.id)
    current_id = web.data.get("id")
    if isinstance(current_id, int) and current_id > 0:  # bind to the logged-in user
        me = await session.get(User, current_id)
        if me is None or me.status != UserStatus.ENABLED:
            web.clear()
            raise AppError(msg("user.banned"), status=200)
        await users.bind(session, me, column, external.id)
        web.save()
        return api_success(None, message="bind")
    if owner is None:
        if not runtime.options.RegisterEnabled:
            raise AppError(msg("register.disabled"), status=200)
        username = external.username
        try:
            username = users.check_username(username) if username else ""
        except AppError:
            username = ""
        if not username or await users.username_taken(session, username):
            username = await users.next_numbered_username(session, name)
        owner = await users.create_user(
            runtime.db, session, runtime.options, username=username, password=secrets.token_hex(10),
            display_name=(external.display_name or username)[:20], email=external.email[:50],
            **{column: external.id})
    if owner.status != UserStatus.ENABLED:
        raise AppError(msg("user.banned"), status=200)
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


@router.get("/oauth/lark", dependencies=[CriticalRateLimit])
async def lark_callback(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep, code: Code = "",
                        state: State = "") -> dict:
    return await _callback("lark", code, state, runtime, session, web)


@router.get("/oauth/wechat", dependencies=[CriticalRateLimit])
async def wechat_login(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep, code: Code = "") -> dict:
    wechat_id = await oauth.wechat_user_id(runtime.options, runtime.http, code)
    return await _login_or_bind("wechat", oauth.ExternalUser(id=wechat_id, display_name="WeChat User"), runtime,
                                session, web)


@router.get("/oauth/wechat/bind", dependencies=[CriticalRateLimit])
async def wechat_bind(user: CurrentUser, runtime: RuntimeDep, session: SessionDep, code: Code = "") -> dict:
    wechat_id = await oauth.wechat_user_id(runtime.options, runtime.http, code)
    await users.bind(session, user, "wechat_id", wechat_id)
    return api_success(None)
