"""OAuth login and binding: GitHub and OIDC (authlib), plus the state endpoint of one-api's UI.

Flow: GET /api/oauth/state (or /api/oauth/<provider>/authorize, which redirects) stores a random state in the
session; the provider sends the browser back to ``{ServerAddress}/oauth/<provider>?code&state``, whose page
calls GET /api/oauth/<provider>?code&state. A state that does not match the session's is refused with 403.
A logged-in caller binds the external account; otherwise it logs in, creating ``<provider>_<n>`` if needed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse

from ..auth import oauth
from ..auth import sessions as session_cookie
from ..errors import AccountDisabled
from ..services import accounts, users
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


@router.get("/oauth/{provider}/authorize", dependencies=[CriticalRateLimit])
async def authorize(provider: Annotated[str, Path(max_length=20)], runtime: RuntimeDep, web: WebSessionDep):
    state = oauth.new_state()
    url = await accounts.authorization_url(runtime, provider, state)
    web.data["oauth_state"] = state
    response = RedirectResponse(url, status_code=302)
    session_cookie.write_session(response, web.request, web.secret, web.data)
    return response


async def _callback(name: str, code: str, state: str, runtime, session, web) -> dict:
    accounts.check_state(web.data.get("oauth_state"), state)
    external = await accounts.external_user(runtime, name, code)
    web.data.pop("oauth_state", None)  # single use
    return await _login_or_bind(name, external, runtime, session, web)


async def _login_or_bind(name: str, external: oauth.ExternalUser, runtime, session, web) -> dict:
    current_id = web.data.get("id")
    try:
        user, bound = await accounts.oauth_sign_in(runtime, session, name, external,
                                                   current_id if isinstance(current_id, int) else 0)
    except AccountDisabled:
        web.clear()
        raise
    if bound:
        web.save()
        return api_success(None, message="bind")
    web.login(user)
    return api_success(login_data(user))


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
