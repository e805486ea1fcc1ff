"""Public routes: /api/status, /api/notice, /api/about, /api/home_page_content."""

from fastapi import APIRouter

from .deps import OptionsDep, RuntimeDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["public"])


@router.get("/status")
async def status(runtime: RuntimeDep, options: OptionsDep) -> dict:
    o = options
    return api_success({
        "version": runtime.version,
        "start_time": runtime.started_at,
        "email_verification": o.EmailVerificationEnabled,
        "github_oauth": o.GitHubOAuthEnabled,
        "github_client_id": o.GitHubClientId,
        "lark_client_id": o.LarkClientId,
        "system_name": o.SystemName,
        "logo": o.Logo,
        "footer_html": o.Footer,
        "wechat_qrcode": o.WeChatAccountQRCodeImageURL,
        "wechat_login": o.WeChatAuthEnabled,
        "server_address": o.ServerAddress,
        "turnstile_check": o.TurnstileCheckEnabled,
        "turnstile_site_key": o.TurnstileSiteKey,
        "top_up_link": o.TopUpLink,
        "chat_link": o.ChatLink,
        "quota_per_unit": o.QuotaPerUnit,
        "display_in_currency": o.DisplayInCurrencyEnabled,
        "oidc": o.OidcEnabled,
        "oidc_client_id": o.OidcClientId,
        "oidc_well_known": o.OidcWellKnown,
        "oidc_authorization_endpoint": o.OidcAuthorizationEndpoint,
        "oidc_token_endpoint": o.OidcTokenEndpoint,
        "oidc_userinfo_endpoint": o.OidcUserinfoEndpoint,
    }, message="")


@router.get("/notice")
async def notice(options: OptionsDep) -> dict:
    return api_success(options.Notice)


@router.get("/about")
async def about(options: OptionsDep) -> dict:
    return api_success(options.About)


@router.get("/home_page_content")
async def home_page_content(options: OptionsDep) -> dict:
    return api_success(options.HomePageContent)
