"""Root-only options: GET lists every stored/known option except secrets; PUT validates and stores one."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from ..errors import ConfigError
from ..services.options import Options, is_internal, to_db_value, update_option
from .common import Body
from .deps import RootUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["options"])


@router.get("/option/")
async def list_options(root: RootUser, runtime: RuntimeDep) -> dict:
    values = runtime.options.model_dump()
    return api_success([{"key": k, "value": to_db_value(v)} for k, v in values.items()
                        if not Options.is_secret(k) and not is_internal(k)])


class OptionBody(Body):
    key: str = Field(min_length=1, max_length=191)
    value: str | bool | int | float | None = Field(default="")


def _check_enable(options: Options, key: str, value: str) -> None:
    """one-api refuses switching a login method on before it is configured."""
    on = value.strip().lower() in ("true", "1")
    if not on:
        return
    if key == "GitHubOAuthEnabled" and not options.GitHubClientId:
        raise ConfigError("无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！")
    if key == "OidcEnabled" and not options.OidcClientId:
        raise ConfigError("无法启用 OIDC 登录，请先填入 OIDC Client Id 以及 OIDC Client Secret！")
    if key == "WeChatAuthEnabled" and not options.WeChatServerAddress:
        raise ConfigError("无法启用微信登录，请先填入微信登录相关配置信息！")
    if key == "TurnstileCheckEnabled" and not options.TurnstileSiteKey:
        raise ConfigError("无法启用 Turnstile 校验，请先填入 Turnstile 校验相关配置信息！")
    if key == "EmailDomainRestrictionEnabled" and not options.EmailDomainWhitelist.strip():
        raise ConfigError("无法启用邮箱域名限制，请先填入限制的邮箱域名！")


@router.put("/option/")
async def put_option(body: OptionBody, root: RootUser, runtime: RuntimeDep, session: SessionDep) -> dict:
    if is_internal(body.key):
        raise ConfigError(f"{body.key}: reserved key")
    value = to_db_value(body.value) if body.value is not None else ""
    if len(value) > 1_000_000:
        raise ConfigError("option value too long")
    _check_enable(runtime.options, body.key, value)
    runtime.options = await update_option(session, runtime.options, body.key, value)
    await runtime.changes.publish("options")
    return api_success(None)
