"""What the Settings page shows, as data: every user-visible string (``TEXT``, the labels and hints of the
options in ``LABELS``/``HINTS``), and the tabs, sections and fields (``TABS``). The page and its components
build themselves from these tables, so a translation table can take the strings over as they are.

Field kinds: ``text`` (one line), ``long`` (Markdown/HTML, a text area), ``number``, ``json`` (a ratio table,
a text area checked as a JSON object of names to numbers), ``toggle`` (saved at once), ``choice`` (one of a few
values), ``secret`` (write-only: never loaded into the page, saved only when typed). Every other field of a
section is saved by the section's Save button, only when changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...services.options import THEMES

TEXT: dict[str, str] = {
    "title": "Settings",
    "nav": "Settings",
    "tab_operation": "Operation",
    "tab_system": "System",
    "tab_other": "Other",
    "save": "Save",
    "saved": "{section}: saved.",
    "nothing_changed": "Nothing changed.",
    "secret_set": "A value is stored (never shown); type a new one to replace it.",
    "secret_unset": "Not set.",
    "secret_placeholder": "Type a new value to replace it",
    "secret_save": "Replace",
    "secret_empty": "Type a value first; the stored one is kept.",
    "secret_saved": "{label} saved.",
    "toggle_on": "{label}: on.",
    "toggle_off": "{label}: off.",
    "root_only": "System settings can be changed by the root user only.",
    "personal": "Your profile, access token and invitation link are on the Account page.",
    "open_account": "Open Account",
    "log_purge": "Old log rows can be deleted on the Logs page (Delete logs before a date).",
    "open_logs": "Open Logs",
    "preview": "Preview",
    "test_mail_to": "Send a test mail to",
    "test_mail_hint": "Uses the saved SMTP settings: save them first.",
    "test_mail_send": "Send test mail",
    "test_mail_bad_to": "Enter the address to send the test mail to.",
    "test_mail_sent": "Test mail sent to {to}.",
    "test_mail_subject": "{system}: test mail",
    "test_mail_body": "<p>This test mail from {system} shows that its SMTP settings work.</p>",
    "bad_number": "{label}: expected a number, got {value!r}",
    "bad_whole": "{label}: expected a whole number, got {value!r}",
    "negative": "{label} cannot be negative",
    "bad_json": "{label}: invalid JSON ({error})",
    "bad_table": "{label}: expected a JSON object of names to numbers",
    "bad_entry": "{label}: {name!r} must be a number",
}

LABELS: dict[str, str] = {
    "ServerAddress": "Server address",
    "PasswordLoginEnabled": "Password login",
    "PasswordRegisterEnabled": "Password registration",
    "EmailVerificationEnabled": "Email verification on registration",
    "GitHubOAuthEnabled": "GitHub login",
    "OidcEnabled": "OIDC login",
    "WeChatAuthEnabled": "WeChat login",
    "RegisterEnabled": "New users may register",
    "TurnstileCheckEnabled": "Turnstile check",
    "EmailDomainRestrictionEnabled": "Restrict email domains",
    "EmailDomainWhitelist": "Allowed email domains",
    "SMTPServer": "SMTP server",
    "SMTPPort": "SMTP port",
    "SMTPAccount": "SMTP account",
    "SMTPFrom": "Sender address",
    "SMTPToken": "SMTP password or token",
    "GitHubClientId": "GitHub client ID",
    "GitHubClientSecret": "GitHub client secret",
    "OidcClientId": "OIDC client ID",
    "OidcClientSecret": "OIDC client secret",
    "OidcWellKnown": "OIDC well-known URL",
    "OidcAuthorizationEndpoint": "OIDC authorization endpoint",
    "OidcTokenEndpoint": "OIDC token endpoint",
    "OidcUserinfoEndpoint": "OIDC userinfo endpoint",
    "LarkClientId": "Lark app ID",
    "LarkClientSecret": "Lark app secret",
    "WeChatServerAddress": "WeChat server address",
    "WeChatServerToken": "WeChat server token",
    "WeChatAccountQRCodeImageURL": "WeChat account QR code image URL",
    "MessagePusherAddress": "Message Pusher address",
    "MessagePusherToken": "Message Pusher token",
    "TurnstileSiteKey": "Turnstile site key",
    "TurnstileSecretKey": "Turnstile secret key",
    "QuotaForNewUser": "Quota for a new user",
    "PreConsumedQuota": "Quota reserved per request",
    "QuotaForInviter": "Reward for the inviter",
    "QuotaForInvitee": "Reward for the invited user",
    "ModelRatio": "Model ratios",
    "CompletionRatio": "Completion ratios",
    "GroupRatio": "Group ratios",
    "LogConsumeEnabled": "Log every request",
    "ChannelDisableThreshold": "Slowest response before a channel is disabled (seconds)",
    "QuotaRemindThreshold": "Low-quota reminder threshold",
    "AutomaticDisableChannelEnabled": "Disable failing channels automatically",
    "AutomaticEnableChannelEnabled": "Enable recovered channels automatically",
    "TopUpLink": "Top-up link",
    "ChatLink": "Chat link",
    "QuotaPerUnit": "Quota per US dollar",
    "RetryTimes": "Retries on another channel",
    "DisplayInCurrencyEnabled": "Show quota in US dollars",
    "DisplayTokenStatEnabled": "Show token usage statistics",
    "ApproximateTokenEnabled": "Count tokens approximately (faster)",
    "Notice": "Notice",
    "SystemName": "System name",
    "Theme": "Theme",
    "Logo": "Logo URL",
    "HomePageContent": "Home page content",
    "About": "About",
    "Footer": "Footer",
}

HINTS: dict[str, str] = {
    "ServerAddress": "The address users reach this server at, e.g. https://api.example.com (links and OAuth).",
    "EmailDomainWhitelist": "Comma-separated, e.g. gmail.com,outlook.com",
    "GitHubClientId": "Callback URL: <server address>/oauth/github",
    "OidcWellKnown": "The discovery document; the endpoints below are read from it when empty.",
    "LarkClientId": "Callback URL: <server address>/oauth/lark",
    "ModelRatio": "JSON: model name -> price ratio (1 = $0.002 per 1K tokens). The built-in table is shown.",
    "CompletionRatio": "JSON: model name -> output price / input price. The built-in table is shown.",
    "GroupRatio": "JSON: user group -> price multiplier.",
    "QuotaRemindThreshold": "Users are mailed when their quota falls below this.",
    "RetryTimes": "How many other channels a failed request tries.",
    "Notice": "Markdown, shown at the top of the Home page.",
    "HomePageContent": "Markdown, or an https:// address shown in a frame. Empty: the status card.",
    "About": "Markdown, or an https:// address shown in a frame.",
    "Footer": "HTML or Markdown shown at the bottom of every page.",
    "Theme": "One API's web UI theme: " + ", ".join(THEMES),
}


@dataclass(frozen=True)
class Field:
    key: str
    kind: str = "text"  # text | long | number | json | toggle | choice | secret

    @property
    def label(self) -> str:
        return LABELS.get(self.key, self.key)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    fields: tuple[Field, ...]
    note: str = ""  # a key of TEXT shown under the title

    def saved_by_button(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind not in ("toggle", "secret"))


def _f(kind: str, *keys: str) -> tuple[Field, ...]:
    return tuple(Field(k, kind) for k in keys)


TABS: tuple[tuple[str, str, tuple[Section, ...]], ...] = (
    ("operation", TEXT["tab_operation"], (
        Section("quota", "Quota", _f("number", "QuotaForNewUser", "PreConsumedQuota", "QuotaForInviter",
                                     "QuotaForInvitee")),
        Section("ratio", "Ratios", _f("json", "ModelRatio", "CompletionRatio", "GroupRatio")),
        Section("log", "Logs", _f("toggle", "LogConsumeEnabled"), note="log_purge"),
        Section("monitor", "Monitoring", _f("number", "ChannelDisableThreshold", "QuotaRemindThreshold")
                + _f("toggle", "AutomaticDisableChannelEnabled", "AutomaticEnableChannelEnabled")),
        Section("general", "General", _f("text", "TopUpLink", "ChatLink")
                + _f("number", "QuotaPerUnit", "RetryTimes")
                + _f("toggle", "DisplayInCurrencyEnabled", "DisplayTokenStatEnabled", "ApproximateTokenEnabled")),
    )),
    ("system", TEXT["tab_system"], (
        Section("server", "General", _f("text", "ServerAddress")),
        Section("login", "Login and registration", _f(
            "toggle", "PasswordLoginEnabled", "PasswordRegisterEnabled", "EmailVerificationEnabled",
            "GitHubOAuthEnabled", "OidcEnabled", "WeChatAuthEnabled", "RegisterEnabled", "TurnstileCheckEnabled")),
        Section("email_domains", "Email domain restriction", _f("text", "EmailDomainWhitelist")
                + _f("toggle", "EmailDomainRestrictionEnabled")),
        Section("smtp", "SMTP (outgoing mail)", _f("text", "SMTPServer") + _f("number", "SMTPPort")
                + _f("text", "SMTPAccount", "SMTPFrom") + _f("secret", "SMTPToken")),
        Section("github", "GitHub OAuth", _f("text", "GitHubClientId") + _f("secret", "GitHubClientSecret")),
        Section("oidc", "OIDC", _f("text", "OidcClientId") + _f("secret", "OidcClientSecret")
                + _f("text", "OidcWellKnown", "OidcAuthorizationEndpoint", "OidcTokenEndpoint",
                     "OidcUserinfoEndpoint")),
        Section("lark", "Lark OAuth", _f("text", "LarkClientId") + _f("secret", "LarkClientSecret")),
        Section("wechat", "WeChat server", _f("text", "WeChatServerAddress", "WeChatAccountQRCodeImageURL")
                + _f("secret", "WeChatServerToken")),
        Section("pusher", "Message Pusher", _f("text", "MessagePusherAddress") + _f("secret", "MessagePusherToken")),
        Section("turnstile", "Cloudflare Turnstile", _f("text", "TurnstileSiteKey")
                + _f("secret", "TurnstileSecretKey")),
    )),
    ("other", TEXT["tab_other"], (
        Section("notice", "Notice", _f("long", "Notice")),
        Section("branding", "System", _f("text", "SystemName") + _f("choice", "Theme") + _f("text", "Logo")),
        Section("content", "Content", _f("long", "HomePageContent", "About", "Footer")),
    )),
)

SECTIONS: dict[str, Section] = {s.id: s for _tab, _title, sections in TABS for s in sections}
FIELDS: dict[str, Field] = {f.key: f for s in SECTIONS.values() for f in s.fields}
CHOICES: dict[str, tuple[str, ...]] = {"Theme": THEMES}
