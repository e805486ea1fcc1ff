"""Dashboard texts of the rate limits (relay/limits.py): a token's own limits in the Tokens page's editor and
table, and the Settings page's editor of the GroupRateLimits option (the group defaults)."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    # -- Tokens: the editor's three fields and the table's summary ------------------------------------------
    "tokens.limits": {"en": "Rate limits", "zh": "速率限制"},
    "tokens.limit_rpm": {"en": "Requests per minute", "zh": "每分钟请求数"},
    "tokens.limit_tpm": {"en": "Tokens per minute", "zh": "每分钟 token 数"},
    "tokens.limit_concurrency": {"en": "Requests at once", "zh": "同时进行的请求数"},
    "tokens.limits_help": {
        "en": "Blank or 0 = your group's default; -1 = no limit; a number = this key's own limit.",
        "zh": "留空或 0 = 所在分组的默认值；-1 = 不限；填数字 = 本令牌自己的限制。"},
    "tokens.limits_group": {"en": "Your group's default: {limits}", "zh": "所在分组的默认值：{limits}"},
    "tokens.limit_bad": {"en": "{field}: enter a whole number (blank, 0, -1 or more), not {value}",
                         "zh": "{field}：请输入整数（留空、0、-1 或更大），而不是 {value}"},
    "tokens.limit_range": {"en": "{field} must be between -1 and {high}",
                           "zh": "{field} 必须在 -1 到 {high} 之间"},
    "tokens.limits_with_user": {"en": "{key} per key; all your keys together: {user}",
                                "zh": "每个令牌 {key}；你的全部令牌合计 {user}"},
    "tokens.group_default": {"en": "group default", "zh": "分组默认"},
    "tokens.no_limits": {"en": "no limits", "zh": "不限"},
    "tokens.rpm_short": {"en": "{n} rpm", "zh": "{n} 次/分"},
    "tokens.tpm_short": {"en": "{n} tpm", "zh": "{n} token/分"},
    "tokens.conc_short": {"en": "{n} conc", "zh": "并发 {n}"},
    # -- Settings: the GroupRateLimits editor --------------------------------------------------------------
    "settings.section.limits": {"en": "Rate limits", "zh": "速率限制"},
    "settings.limits_note": {
        "en": "Defaults per user group. Per token: rpm (requests per minute), tpm (tokens per minute), concurrency "
              "(requests at once); a token's own limits win. Per user, for all of a user's tokens together: "
              "user_rpm, user_tpm, user_concurrency. Whole numbers; 0 or absent = no limit. Groups not listed "
              "have no default limits.",
        "zh": "按用户分组设置默认值。每个令牌：rpm（每分钟请求数）、tpm（每分钟 token 数）、concurrency（同时进行的请求"
              "数）——令牌自己的限制优先。每个用户（其全部令牌合计）：user_rpm、user_tpm、user_concurrency。取整数；"
              "0 或不写 = 不限。未列出的分组没有默认限制。"},
    "settings.bad_limits_table": {"en": "{label}: expected a JSON object of groups, e.g. {example}",
                                  "zh": "{label}：应为以分组为键的 JSON 对象，例如 {example}"},
    "settings.bad_limits_group": {"en": "{label}: the limits of group {name!r} must be a JSON object, e.g. {example}",
                                  "zh": "{label}：分组 {name!r} 的限制必须是 JSON 对象，例如 {example}"},
    "settings.bad_limits_name": {"en": "{label}: group {group!r} has an unknown limit {name!r} (known: {known})",
                                 "zh": "{label}：分组 {group!r} 中有未知的限制 {name!r}（可用：{known}）"},
    "settings.bad_limits_value": {"en": "{label}: {group}.{name} must be a whole number >= 0, not {value}",
                                  "zh": "{label}：{group}.{name} 必须是不小于 0 的整数，而不是 {value}"},
}
