"""OAuth 2 login providers with authlib: GitHub and OIDC (endpoints from the well-known document or the
options). Each provider knows its endpoints, how to read the user's stable id, name and email.

authlib (with joserfc and cryptography, ~12 MiB resident) is imported only when a GitHub or OIDC flow runs,
not when the app starts: most deployments never use it."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from ..errors import OAuthError
from ..i18n import msg
from ..services.options import Options
from ..settings import Settings

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

STATE_ALPHABET = string.ascii_letters + string.digits


def new_state() -> str:
    """12 characters, as one-api's /api/oauth/state."""
    return "".join(secrets.choice(STATE_ALPHABET) for _ in range(12))


@dataclass
class Endpoints:
    authorize: str
    token: str
    userinfo: str


@dataclass
class ExternalUser:
    id: str
    username: str = ""
    display_name: str = ""
    email: str = ""


@dataclass
class Provider:
    name: str  # "github" | "oidc": the users column is f"{name}_id", new usernames f"{name}_<n>"
    client_id: str
    client_secret: str
    scope: str
    endpoints: Endpoints
    redirect_uri: str

    def client(self, **kwargs) -> AsyncOAuth2Client:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(self.client_id, self.client_secret, scope=self.scope,
                                 redirect_uri=self.redirect_uri, token_endpoint_auth_method="client_secret_post",
                                 timeout=20, **kwargs)

    def authorization_url(self, state: str) -> str:
        client = self.client()
        url, _ = client.create_authorization_url(self.endpoints.authorize, state=state)
        return url

    async def fetch_user(self, code: str) -> ExternalUser:
        if not code:
            raise OAuthError(msg("oauth.code_required"))
        from authlib.common.errors import AuthlibBaseError

        async with self.client() as client:
            try:
                token = await client.fetch_token(self.endpoints.token, code=code, grant_type="authorization_code",
                                                 headers={"Accept": "application/json"})
            except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
                raise OAuthError(msg("oauth.exchange_failed", provider=self.name, detail=exc)) from None
            if not token.get("access_token"):
                raise OAuthError(msg("oauth.no_access_token", provider=self.name))
            try:
                reply = await client.get(self.endpoints.userinfo, headers={"Accept": "application/json"})
                data = reply.json() if reply.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                data = None
        if not isinstance(data, dict):
            raise OAuthError(msg("oauth.no_user", provider=self.name))
        return self.parse_user(data)

    def parse_user(self, data: dict) -> ExternalUser:
        if self.name == "github":
            login = str(data.get("login") or "")
            if not login:
                raise OAuthError(msg("oauth.empty_user"))
            return ExternalUser(id=login, display_name=str(data.get("name") or "GitHub User"),
                                email=str(data.get("email") or ""))
        sub = str(data.get("sub") or "")
        if not sub:
            raise OAuthError(msg("oauth.empty_user"))
        return ExternalUser(id=sub, username=str(data.get("preferred_username") or ""),
                            display_name=str(data.get("name") or data.get("preferred_username") or "OIDC User"),
                            email=str(data.get("email") or ""))


def github(options: Options, settings: Settings) -> Provider:
    if not options.GitHubOAuthEnabled:
        raise OAuthError(msg("oauth.github_disabled"))
    base = settings.github_base_url.rstrip("/")
    api = settings.github_api_base_url.rstrip("/")
    return Provider("github", options.GitHubClientId, options.GitHubClientSecret, "user:email",
                    Endpoints(f"{base}/login/oauth/authorize", f"{base}/login/oauth/access_token", f"{api}/user"),
                    redirect_uri=f"{options.ServerAddress.rstrip('/')}/oauth/github")


async def oidc(options: Options, http: httpx.AsyncClient) -> Provider:
    if not options.OidcEnabled:
        raise OAuthError(msg("oauth.oidc_disabled"))
    endpoints = Endpoints(options.OidcAuthorizationEndpoint, options.OidcTokenEndpoint, options.OidcUserinfoEndpoint)
    if options.OidcWellKnown and not all((endpoints.authorize, endpoints.token, endpoints.userinfo)):
        try:
            reply = await http.get(options.OidcWellKnown, timeout=20)
            doc = reply.json()
        except (httpx.HTTPError, ValueError):
            raise OAuthError(msg("oauth.well_known_unreadable")) from None
        if not isinstance(doc, dict):
            raise OAuthError(msg("oauth.well_known_not_object"))
        endpoints = Endpoints(endpoints.authorize or str(doc.get("authorization_endpoint") or ""),
                              endpoints.token or str(doc.get("token_endpoint") or ""),
                              endpoints.userinfo or str(doc.get("userinfo_endpoint") or ""))
    if not all((endpoints.authorize, endpoints.token, endpoints.userinfo)):
        raise OAuthError(msg("oauth.oidc_not_configured"))
    return Provider("oidc", options.OidcClientId, options.OidcClientSecret, "openid profile email", endpoints,
                    redirect_uri=f"{options.ServerAddress.rstrip('/')}/oauth/oidc")


# --- Lark (Feishu) and WeChat: not standard enough for authlib, plain HTTP calls --------------------------

LARK_AUTHORIZE = "https://open.feishu.cn/open-apis/authen/v1/index"
LARK_TOKEN = "https://open.feishu.cn/open-apis/authen/v2/oauth/token"
LARK_USERINFO = "https://passport.feishu.cn/suite/passport/oauth/userinfo"


async def lark_user(options: Options, http: httpx.AsyncClient, code: str) -> ExternalUser:
    if not options.LarkClientId:
        raise OAuthError(msg("oauth.lark_disabled"))
    if not code:
        raise OAuthError(msg("oauth.code_required"))
    body = {"grant_type": "authorization_code", "client_id": options.LarkClientId,
            "client_secret": options.LarkClientSecret, "code": code,
            "redirect_uri": f"{options.ServerAddress.rstrip('/')}/oauth/lark"}
    try:
        token = (await http.post(LARK_TOKEN, json=body, timeout=20)).json()
        access = token.get("access_token") if isinstance(token, dict) else None
        if not access:
            raise OAuthError(msg("oauth.no_access_token", provider="lark"))
        info = (await http.get(LARK_USERINFO, headers={"Authorization": f"Bearer {access}"}, timeout=20)).json()
    except (httpx.HTTPError, ValueError, UnicodeError) as exc:
        raise OAuthError(msg("oauth.request_failed", provider="lark", detail=type(exc).__name__)) from None
    if not isinstance(info, dict) or not info.get("open_id"):
        raise OAuthError(msg("oauth.empty_user"))
    return ExternalUser(id=str(info["open_id"]), display_name=str(info.get("name") or "Lark User"))


async def wechat_user_id(options: Options, http: httpx.AsyncClient, code: str) -> str:
    """The WeChat id for a code typed by the user, from the WeChat server (one-api's wechat-server)."""
    if not options.WeChatAuthEnabled:
        raise OAuthError(msg("oauth.wechat_disabled"))
    if not code:
        raise OAuthError(msg("oauth.code_required"))
    url = f"{options.WeChatServerAddress.rstrip('/')}/api/wechat/user"
    try:
        reply = (await http.get(url, params={"code": code}, headers={"Authorization": options.WeChatServerToken},
                                timeout=10)).json()
    except (httpx.HTTPError, ValueError, UnicodeError) as exc:
        raise OAuthError(msg("oauth.request_failed", provider="wechat server", detail=type(exc).__name__)) from None
    if not isinstance(reply, dict) or not reply.get("success"):
        message = reply.get("message") if isinstance(reply, dict) else ""
        raise OAuthError(str(message or msg("email.bad_code")))
    if not reply.get("data"):
        raise OAuthError(msg("email.bad_code"))
    return str(reply["data"])
