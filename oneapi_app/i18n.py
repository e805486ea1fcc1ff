"""Every text the gateway shows a client, in English and in Chinese: one table, message id -> {"en", "zh"}.

The language is the ``LANGUAGE`` setting (``zh`` by default: one-api's messages are Chinese, and scripts
written against one-api match on them). The runtime applies it at start-up with ``set_language``; a text is
rendered when it is shown, so an error raised anywhere carries a ``Text`` (message id + parameters) and
becomes a string in the language of the moment.

- ``t(id, **params)``: the text now, in the configured language (``lang=`` for another one);
- ``Text(id, params)`` / ``msg(id, **params)``: a text rendered later (what the typed errors of errors.py
  carry); ``str()`` renders it;
- ``texts(lang)``: the whole table in one language (id -> text), e.g. for a dashboard page's state.

Chinese texts are one-api's own where it has one for the same situation (its exact words: they are the
compatibility surface). Placeholders are ``str.format`` fields (``{model}``); both languages of a message use
the same ones (tests/test_i18n.py checks it). A few bodies stay untranslated on purpose because clients
match them byte for byte: one-api's ``Invalid URL (...)`` 404 and ``API not implemented`` 501, and the error
objects forwarded from upstreams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

MESSAGES: dict[str, dict[str, str]] = {
    # -- relay: the key (one-api's TokenAuth) -------------------------------------------------------------
    "relay.no_key": {"en": "no API key provided (send Authorization: Bearer sk-...)", "zh": "未提供令牌"},
    "relay.invalid_key": {"en": "invalid API key", "zh": "无效的令牌"},
    "relay.key_exhausted": {"en": "the quota of API key {name} (#{id}) is used up",
                            "zh": "令牌 {name}（#{id}）额度已用尽"},
    "relay.key_expired": {"en": "this API key has expired", "zh": "该令牌已过期"},
    "relay.key_unavailable": {"en": "this API key is disabled", "zh": "该令牌状态不可用"},
    "relay.key_subnet": {"en": "this API key may only be used from {subnet}; your address is {ip}",
                         "zh": "该令牌只能在指定网段使用：{subnet}，当前 ip：{ip}"},
    "relay.model_not_allowed": {"en": "this API key may not use the model {model}",
                                "zh": "该令牌无权使用模型：{model}"},
    "relay.pin_not_admin": {"en": "only administrators may choose a channel in the key",
                            "zh": "普通用户不支持指定渠道"},
    "relay.bad_channel_id": {"en": "invalid channel id", "zh": "无效的渠道 Id"},
    "relay.channel_disabled": {"en": "this channel is disabled", "zh": "该渠道已被禁用"},
    # -- relay: routing ------------------------------------------------------------------------------------
    "relay.no_channel": {"en": "no channel of group {group} can serve the model {model} right now",
                         "zh": "当前分组 {group} 下对于模型 {model} 无可用渠道"},
    "relay.model_not_found": {"en": "The model `{model}` does not exist or is not available to group {group}",
                              "zh": "当前分组 {group} 下对于模型 {model} 无可用渠道"},
    "relay.saturated": {"en": "the upstreams of this group are saturated, try again later",
                        "zh": "当前分组上游负载已饱和，请稍后再试"},
    "relay.type_not_supported": {"en": "channel type {type} is not supported yet",
                                 "zh": "渠道类型 {type} 尚未支持"},
    "relay.upstream_timeout": {"en": "upstream timed out", "zh": "上游响应超时"},
    # one-api's own English words, kept in both languages (clients match them)
    "relay.upstream_unreachable": {"en": "do request failed: {kind}", "zh": "do request failed: {kind}"},
    "relay.upstream_status": {"en": "bad response status code {status}",
                              "zh": "bad response status code {status}"},
    "relay.upstream_too_large": {"en": "the upstream answer is larger than {mb} MB (RELAY_MAX_RESPONSE_SIZE)",
                                 "zh": "上游响应超过 {mb} MB（RELAY_MAX_RESPONSE_SIZE）"},
    "relay.cloudflare_no_account": {"en": "this Cloudflare channel has no account id: set user_id in its config",
                                    "zh": "该 Cloudflare 渠道没有账户 ID：请在其配置中设置 user_id"},
    "relay.anthropic_chat_only": {"en": "Anthropic channels serve chat completions only, not {kind}",
                                  "zh": "Anthropic 渠道只支持 chat completions，不支持 {kind}"},
    "relay.gemini_no_endpoint": {"en": "Gemini channels do not serve /v1/{kind}", "zh": "Gemini 渠道不支持 /v1/{kind}"},
    "relay.gemini_data_url": {"en": "image_url data URLs must be base64 encoded (data:<mime>;base64,<data>)",
                              "zh": "image_url 的 data URL 必须是 base64 编码（data:<mime>;base64,<data>）"},
    "relay.gemini_image_url": {"en": "image_url must be a data: URL or an http(s) URL",
                               "zh": "image_url 必须是 data: URL 或 http(s) URL"},
    "relay.gemini_arguments": {"en": "tool_calls[].function.arguments is not valid JSON",
                               "zh": "tool_calls[].function.arguments 不是合法的 JSON"},
    "relay.gemini_no_message": {"en": "Gemini needs at least one user or assistant message besides the system prompt",
                                "zh": "Gemini 需要系统提示之外至少一条 user 或 assistant 消息"},
    "relay.gemini_embedding_input": {
        "en": "Gemini embeddings take input as a string or a list of strings (not token arrays)",
        "zh": "Gemini embeddings 的 input 必须是字符串或字符串列表（不支持 token 数组）"},
    # -- relay: the request body ---------------------------------------------------------------------------
    "relay.body_empty": {"en": "the request body is empty: send a JSON object", "zh": "请求体为空，请发送 JSON 对象"},
    "relay.body_not_json": {"en": "the request body is not valid JSON: {detail}",
                            "zh": "请求体不是合法的 JSON：{detail}"},
    "relay.body_not_object": {"en": "the request body must be a JSON object", "zh": "请求体必须是 JSON 对象"},
    "relay.body_too_large": {"en": "the request body is larger than {mb} MB (MAX_REQUEST_BODY_SIZE)",
                             "zh": "请求体超过 {mb} MB（MAX_REQUEST_BODY_SIZE）"},
    "relay.gzip_invalid": {"en": "invalid gzip request body", "zh": "gzip 请求体无法解压"},
    "relay.gzip_too_large": {"en": "the compressed request body is too large", "zh": "压缩后的请求体过大"},
    "relay.field_required": {"en": "field {field} is required", "zh": "缺少字段 {field}"},
    "relay.messages_required": {"en": "field messages is required and must be a non-empty list",
                                "zh": "缺少字段 messages，且它必须是非空列表"},
    "relay.bad_integer": {"en": "{field} is invalid: expected an integer in [0, 2^30)",
                          "zh": "{field} 无效：应为 [0, 2^30) 内的整数"},
    # -- quota (the ledger) -------------------------------------------------------------------------------
    "quota.token_not_enough": {"en": "the API key's quota is not enough for this request", "zh": "令牌额度不足"},
    "quota.user_not_enough": {"en": "your quota is not enough for this request", "zh": "用户额度不足"},
    "quota.busy": {"en": "the quota cannot be reserved right now, try again shortly",
                   "zh": "暂时无法预扣额度，请稍后再试"},
    # -- common to both doors -----------------------------------------------------------------------------
    "internal_error": {"en": "internal error, see the server log", "zh": "服务器内部错误，详见服务器日志"},
    "too_many_requests": {"en": "too many requests from this address, try again later",
                          "zh": "该地址请求过于频繁，请稍后再试"},
    "user.banned": {"en": "this user is banned", "zh": "用户已被封禁"},
    # -- /api: access ------------------------------------------------------------------------------------
    "api.invalid_parameter": {"en": "invalid parameters", "zh": "无效的参数"},
    "api.invalid_request": {"en": "invalid request: {detail}", "zh": "无效的参数：{detail}"},
    "api.nul_characters": {"en": "invalid request: NUL characters are not allowed",
                           "zh": "无效的参数：不允许 NUL 字符"},
    "api.not_logged_in": {"en": "not allowed: not logged in and no access token given",
                          "zh": "无权进行此操作，未登录且未提供 access token"},
    "api.bad_access_token": {"en": "not allowed: the access token is invalid",
                             "zh": "无权进行此操作，access token 无效"},
    "api.no_permission": {"en": "not allowed: your role is too low", "zh": "无权进行此操作，权限不足"},
    "api.cross_site": {"en": "cross-site request refused: act from this site's pages; scripts use an access token",
                       "zh": "跨站请求已拒绝：请在本站页面中操作，脚本请使用 access token"},
    "api.turnstile_empty": {"en": "the Turnstile token is empty", "zh": "Turnstile token 为空"},
    "api.turnstile_failed": {"en": "the Turnstile check failed, reload the page and try again",
                             "zh": "Turnstile 校验失败，请刷新重试！"},
    # -- /api: login, registration, accounts -------------------------------------------------------------
    "login.password_disabled": {"en": "password login is turned off by the administrator",
                                "zh": "管理员关闭了密码登录"},
    "login.missing": {"en": "username and password are required", "zh": "无效的参数"},
    "login.failed": {"en": "wrong username or password, or the user is banned",
                     "zh": "用户名或密码错误，或用户已被封禁"},
    "register.disabled": {"en": "registration is turned off by the administrator", "zh": "管理员关闭了新用户注册"},
    "register.password_disabled": {
        "en": "registration with a password is turned off by the administrator: sign up with a third-party account",
        "zh": "管理员关闭了通过密码进行注册，请使用第三方账户验证的形式进行注册"},
    "register.email_required": {"en": "email verification is on: enter your email address and the code",
                                "zh": "管理员开启了邮箱验证，请输入邮箱地址和验证码"},
    "email.taken": {"en": "this email address is already in use", "zh": "邮箱地址已被占用"},
    "email.bad_code": {"en": "the verification code is wrong or has expired", "zh": "验证码错误或已过期"},
    "email.invalid": {"en": "invalid email address", "zh": "无效的邮箱地址"},
    "email.domain_not_allowed": {"en": "the domain of your email address is not on the administrator's allow list",
                                 "zh": "管理员启用了邮箱域名白名单，您的邮箱地址的域名不在白名单中"},
    "email.not_registered": {"en": "no user has this email address", "zh": "该邮箱地址未注册"},
    "reset.bad_link": {"en": "the reset link is invalid or has expired", "zh": "重置链接非法或已过期"},
    "login.bad_ticket": {"en": "invalid or expired login ticket", "zh": "登录凭据无效或已过期"},
    # -- /api: users ------------------------------------------------------------------------------------
    "user.reserved_name": {"en": "names that look like root's are reserved, choose another one",
                           "zh": "该名称为超级管理员保留，请换一个"},
    "user.name_length": {"en": "the username must be 1-12 characters", "zh": "用户名长度必须在 1-12 个字符之间"},
    "user.name_chars": {"en": "the username must not contain spaces or control characters",
                        "zh": "用户名不能包含空格或控制字符"},
    "user.password_length": {"en": "the password must be 8-20 characters", "zh": "密码长度必须在 8-20 个字符之间"},
    "user.display_name_length": {"en": "the display name must be at most 20 characters", "zh": "显示名称过长"},
    "user.email_length": {"en": "the email address must be at most 50 characters", "zh": "邮箱地址过长"},
    "user.name_taken": {"en": "this username is already taken", "zh": "用户名已被占用"},
    "user.not_found": {"en": "user {id} does not exist", "zh": "用户 {id} 不存在"},
    "user.missing": {"en": "the user does not exist", "zh": "用户不存在"},
    "user.no_read_higher": {"en": "you may not read users of your role or above",
                            "zh": "无权获取同级或更高等级用户的信息"},
    "user.no_update_higher": {"en": "you may not change users of your role or above",
                              "zh": "无权更新同权限等级或更高权限等级的用户信息"},
    "user.bad_role": {"en": "role must be 1 (common), 10 (admin) or 100 (root)",
                      "zh": "role 必须是 1（普通用户）、10（管理员）或 100（超级管理员）"},
    "user.no_raise_role": {"en": "you may not give a user your role or a higher one",
                           "zh": "无权将其他用户权限等级提升到大于等于自己的权限等级"},
    "user.bad_group": {"en": "the group must be 1-32 characters", "zh": "分组名长度必须在 1-32 个字符之间"},
    "user.no_disable_root": {"en": "the root user cannot be disabled", "zh": "无法禁用超级管理员用户"},
    "user.no_delete_root": {"en": "the root user cannot be deleted", "zh": "无法删除超级管理员用户"},
    "user.no_promote": {"en": "only root may make a user an administrator",
                        "zh": "普通管理员用户无法提升其他用户为管理员"},
    "user.already_admin": {"en": "this user is already an administrator", "zh": "该用户已经是管理员"},
    "user.no_demote_root": {"en": "the root user cannot be demoted", "zh": "无法降级超级管理员用户"},
    "user.already_common": {"en": "this user is already a common user", "zh": "该用户已经是普通用户"},
    "user.bad_action": {"en": "action must be one of disable, enable, delete, promote, demote",
                        "zh": "action 必须是 disable、enable、delete、promote、demote 之一"},
    "user.no_delete_higher": {"en": "you may not delete users of your role or above",
                              "zh": "无权删除同权限等级或更高权限等级的用户"},
    "user.no_delete_root_account": {"en": "the root account cannot be deleted", "zh": "不能删除超级管理员账户"},
    "user.bad_quota": {"en": "quota must be a positive integer", "zh": "额度必须是正整数"},
    "user.cannot_bind": {"en": "cannot bind {column}", "zh": "无法绑定 {column}"},
    "bind.github_taken": {"en": "this GitHub account is already bound to a user", "zh": "该 GitHub 账户已被绑定"},
    "bind.oidc_taken": {"en": "this OIDC account is already bound to a user", "zh": "该 OIDC 账户已被绑定"},
    "bind.lark_taken": {"en": "this Lark account is already bound to a user", "zh": "该飞书账户已被绑定"},
    "bind.wechat_taken": {"en": "this WeChat account is already bound to a user", "zh": "该微信账号已被绑定"},
    # -- /api: tokens ----------------------------------------------------------------------------------
    "token.bad_subnet": {"en": "invalid subnet {item}: expected CIDR notation like 192.168.1.0/24",
                         "zh": "无效的网段 {item}：应为 CIDR 形式，如 192.168.1.0/24"},
    "token.name_length": {"en": "the token name must be at most 30 bytes", "zh": "令牌名称过长（最多 30 字节）"},
    "token.negative_quota": {"en": "remain_quota must not be negative", "zh": "remain_quota 不能为负数"},
    "token.bad_expiry": {"en": "expired_time must be -1 (never) or a unix timestamp",
                         "zh": "expired_time 必须是 -1（永不过期）或 Unix 时间戳"},
    "token.subnet_length": {"en": "the subnet list is too long (at most 191 characters)",
                            "zh": "subnet 网段列表过长（最多 191 个字符）"},
    "token.not_found": {"en": "token {id} does not exist", "zh": "令牌 {id} 不存在"},
    "token.status_required": {"en": "status is required with status_only", "zh": "status_only 需要 status"},
    "token.enable_expired": {"en": "the token has expired: change its expiry time (or make it never expire) first",
                             "zh": "令牌已过期，无法启用，请先修改令牌过期时间，或者设置为永不过期"},
    "token.enable_exhausted": {"en": "the token's quota is used up: raise its quota (or make it unlimited) first",
                               "zh": "令牌可用额度已用尽，无法启用，请先修改令牌剩余额度，或者设置为无限额度"},
    "status.bad": {"en": "status must be 1 (enabled) or 2 (disabled)", "zh": "status 必须是 1（启用）或 2（禁用）"},
    # -- /api: redemptions --------------------------------------------------------------------------------
    "redemption.name_length": {"en": "the name must be 1-20 characters", "zh": "兑换码名称长度必须在1-20之间"},
    "redemption.bad_count": {"en": "count must be 1-{max}", "zh": "一次兑换码批量生成的个数不能大于 {max}"},
    "redemption.not_found": {"en": "redemption {id} does not exist", "zh": "兑换码 {id} 不存在"},
    "redemption.used": {"en": "this code has been used", "zh": "该兑换码已被使用"},
    "redemption.empty": {"en": "enter a redemption code", "zh": "请输入兑换码！"},
    "redemption.invalid": {"en": "invalid redemption code", "zh": "无效的兑换码"},
    "redemption.disabled": {"en": "this code is disabled", "zh": "该兑换码已被禁用"},
    # -- /api: channels --------------------------------------------------------------------------------
    "channel.not_found": {"en": "channel {id} does not exist", "zh": "渠道 {id} 不存在"},
    "channel.bad_mapping": {"en": "model_mapping must be a JSON object like {{\"asked-model\": \"upstream-model\"}}",
                            "zh": "model_mapping 必须是 JSON 对象，如 {{\"asked-model\": \"upstream-model\"}}"},
    "channel.mapping_names": {"en": "model_mapping must map model names to model names",
                              "zh": "model_mapping 必须把模型名映射到模型名"},
    "channel.bad_config": {"en": "config must be a JSON object", "zh": "config 必须是 JSON 对象"},
    "channel.group_length": {"en": "the group must be at most 32 characters", "zh": "分组名最多 32 个字符"},
    "channel.empty_key": {"en": "the channel key is empty", "zh": "渠道的 key 为空"},
    "channel.bad_scope": {"en": "scope must be all or disabled", "zh": "scope 必须是 all 或 disabled"},
    "channel.test_running": {"en": "a test of all channels is already running", "zh": "测试已在运行中"},
    "channel.balance_failed": {"en": "balance request failed: {detail}", "zh": "余额查询失败：{detail}"},
    "channel.balance_not_supported": {"en": "balance queries are not supported for this channel type",
                                      "zh": "尚未实现"},
    # -- /api: options -----------------------------------------------------------------------------------
    "option.expected_bool": {"en": "{key}: expected true or false, got {raw}", "zh": "{key}：应为 true 或 false，实际为 {raw}"},
    "option.expected_number": {"en": "{key}: expected a number, got {raw}", "zh": "{key}：应为数字，实际为 {raw}"},
    "option.expected_integer": {"en": "{key}: expected an integer, got {raw}", "zh": "{key}：应为整数，实际为 {raw}"},
    "option.bad_json": {"en": "{key}: invalid JSON ({detail})", "zh": "{key}：JSON 无效（{detail}）"},
    "option.expected_ratios": {"en": "{key}: expected a JSON object of names to numbers",
                               "zh": "{key}：应为名称到数字的 JSON 对象"},
    "option.bad_theme": {"en": "Theme: expected one of {themes}, got {raw}", "zh": "Theme：应为 {themes} 之一，实际为 {raw}"},
    "option.github_incomplete": {"en": "cannot enable GitHub OAuth: fill in the GitHub Client Id and Client Secret first",
                                 "zh": "无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！"},
    "option.oidc_incomplete": {"en": "cannot enable OIDC login: fill in the OIDC Client Id and Client Secret first",
                               "zh": "无法启用 OIDC 登录，请先填入 OIDC Client Id 以及 OIDC Client Secret！"},
    "option.wechat_incomplete": {"en": "cannot enable WeChat login: fill in the WeChat login settings first",
                                 "zh": "无法启用微信登录，请先填入微信登录相关配置信息！"},
    "option.turnstile_incomplete": {"en": "cannot enable Turnstile: fill in the Turnstile settings first",
                                    "zh": "无法启用 Turnstile 校验，请先填入 Turnstile 校验相关配置信息！"},
    "option.domains_incomplete": {"en": "cannot restrict email domains: fill in the allowed domains first",
                                  "zh": "无法启用邮箱域名限制，请先填入限制的邮箱域名！"},
    "option.reserved": {"en": "{key}: reserved key", "zh": "{key}：保留的键"},
    "option.too_long": {"en": "option value too long", "zh": "选项值过长"},
    "option.key_length": {"en": "option key must be 1-191 characters", "zh": "选项键长度必须在 1-191 个字符之间"},
    "option.invalid": {"en": "{key}: {detail}", "zh": "{key}：{detail}"},
    # -- /api: OAuth and mail ---------------------------------------------------------------------------
    "oauth.code_required": {"en": "invalid parameters: code is required", "zh": "无效的参数"},
    "oauth.exchange_failed": {"en": "{provider} code exchange failed: {detail}", "zh": "{provider} 授权码兑换失败：{detail}"},
    "oauth.no_access_token": {"en": "{provider} code exchange failed: no access token",
                              "zh": "{provider} 授权码兑换失败：没有 access token"},
    "oauth.no_user": {"en": "{provider}: could not read the user", "zh": "{provider}：无法读取用户信息"},
    "oauth.empty_user": {"en": "the provider's answer has an empty user field, try again later",
                         "zh": "返回值非法，用户字段为空，请稍后重试！"},
    "oauth.github_disabled": {"en": "login and registration through GitHub are turned off by the administrator",
                              "zh": "管理员未开启通过 GitHub 登录以及注册"},
    "oauth.oidc_disabled": {"en": "login and registration through OIDC are turned off by the administrator",
                            "zh": "管理员未开启通过 OIDC 登录以及注册"},
    "oauth.lark_disabled": {"en": "login and registration through Lark are turned off by the administrator",
                            "zh": "管理员未开启通过飞书登录以及注册"},
    "oauth.wechat_disabled": {"en": "login and registration through WeChat are turned off by the administrator",
                              "zh": "管理员未开启通过微信登录以及注册"},
    "oauth.well_known_unreadable": {"en": "could not read the OIDC well-known document",
                                    "zh": "无法读取 OIDC well-known 文档"},
    "oauth.well_known_not_object": {"en": "the OIDC well-known document is not a JSON object",
                                    "zh": "OIDC well-known 文档不是 JSON 对象"},
    "oauth.oidc_not_configured": {"en": "OIDC endpoints are not configured (set OidcWellKnown or the three endpoints)",
                                  "zh": "OIDC 端点未配置（请设置 OidcWellKnown 或三个端点）"},
    "oauth.request_failed": {"en": "{provider} request failed: {detail}", "zh": "{provider} 请求失败：{detail}"},
    "oauth.unknown_provider": {"en": "unknown OAuth provider {provider}", "zh": "未知的 OAuth 提供方 {provider}"},
    "oauth.bad_state": {"en": "state is empty or not same", "zh": "state 为空或不一致"},
    "log.target_required": {"en": "target timestamp is required", "zh": "需要 target_timestamp"},
    "mail.no_server": {"en": "SMTP server not configured (set SMTPServer in the system settings)",
                       "zh": "SMTP 服务器未配置"},
    "mail.no_sender": {"en": "SMTP sender not configured (set SMTPFrom or SMTPAccount)",
                       "zh": "SMTP 发件人未配置（请设置 SMTPFrom 或 SMTPAccount）"},
    "mail.send_failed": {"en": "failed to send the email: {detail}", "zh": "发送邮件失败：{detail}"},
}


_language = DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """The language of every text from now on (the runtime calls it with the LANGUAGE setting)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    global _language
    _language = lang


def language() -> str:
    return _language


def t(msg_id: str, lang: str | None = None, **params: object) -> str:
    """The text of a message id in ``lang`` (default: the configured language), its fields filled in."""
    text = MESSAGES[msg_id][lang or _language]
    return text.format(**params) if params else text.format()


def texts(lang: str | None = None) -> dict[str, str]:
    """The whole table in one language, unformatted: id -> text (for a page that renders texts itself)."""
    chosen = lang or _language
    return {msg_id: variants[chosen] for msg_id, variants in MESSAGES.items()}


@dataclass(frozen=True, slots=True)
class Text:
    """A message id and its parameters, rendered when shown: ``str(Text(...))``."""

    id: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return t(self.id, lang, **self.params)

    def __str__(self) -> str:
        return self.render()


def msg(msg_id: str, **params: object) -> Text:
    if msg_id not in MESSAGES:
        raise KeyError(f"unknown message id {msg_id!r}")
    return Text(msg_id, params)
