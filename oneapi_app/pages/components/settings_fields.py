"""What the Settings page shows, as data: the message ids of its texts (``TEXT``, the labels and hints of the
options in ``LABELS``/``HINTS``: the texts are in oneapi_app/i18n/ui_settings.py), and the tabs, sections and
fields (``TABS``). The page and its components build themselves from these tables.

Field kinds: ``text`` (one line), ``long`` (Markdown/HTML, a text area), ``number``, ``json`` (a ratio table,
a text area checked as a JSON object of names to numbers), ``limits`` (GroupRateLimits: a text area checked as
a JSON object of groups to their limits, see relay/limits.py), ``toggle`` (saved at once), ``choice`` (one of a few
values), ``secret`` (write-only: never loaded into the page, saved only when typed). Every other field of a
section is saved by the section's Save button, only when changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...i18n import MESSAGES
from ...services.options import THEMES

# The texts are in the translation table (oneapi_app/i18n/ui_settings.py); these map to their message ids.
TEXT: dict[str, str] = {key.removeprefix("settings."): key for key in MESSAGES
                        if key.startswith("settings.") and key.count(".") == 1}
LABELS: dict[str, str] = {key.removeprefix("settings.label."): key for key in MESSAGES
                          if key.startswith("settings.label.")}
HINTS: dict[str, str] = {key.removeprefix("settings.hint."): key for key in MESSAGES if key.startswith("settings.hint.")}
# GroupRateLimits' example (its hint, the text area's placeholder): per token (a token's own limits win), per user.
LIMITS_EXAMPLE = '{"default": {"rpm": 60, "concurrency": 4}, "vip": {"rpm": 600, "tpm": 1000000, "user_rpm": 1200}}'
HINT_PARAMS: dict[str, dict[str, str]] = {"Theme": {"themes": ", ".join(THEMES)},
                                          "GroupRateLimits": {"example": LIMITS_EXAMPLE}}
JSON_KINDS = ("json", "limits")  # shown one entry a line, stored compact


@dataclass(frozen=True)
class Field:
    key: str
    kind: str = "text"  # text | long | number | json | limits | toggle | choice | secret

    @property
    def label(self) -> str:
        """The message id of the field's label."""
        return LABELS[self.key]


@dataclass(frozen=True)
class Section:
    id: str
    title: str  # English, for the code's readers; the page shows ``title_id``'s text
    fields: tuple[Field, ...]
    note: str = ""  # a key of TEXT shown under the title

    @property
    def title_id(self) -> str:
        return f"settings.section.{self.id}"

    def saved_by_button(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind not in ("toggle", "secret"))


def _f(kind: str, *keys: str) -> tuple[Field, ...]:
    return tuple(Field(k, kind) for k in keys)


TABS: tuple[tuple[str, str, tuple[Section, ...]], ...] = (
    ("operation", "settings.tab_operation", (
        Section("quota", "Quota", _f("number", "QuotaForNewUser", "PreConsumedQuota", "QuotaForInviter",
                                     "QuotaForInvitee")),
        Section("ratio", "Ratios", _f("json", "ModelRatio", "CompletionRatio", "GroupRatio",
                                                 "CacheRatio", "CacheWriteRatio")),
        Section("limits", "Rate limits", _f("limits", "GroupRateLimits"), note="limits_note"),
        Section("log", "Logs", _f("toggle", "LogConsumeEnabled"), note="log_purge"),
        Section("monitor", "Monitoring", _f("number", "ChannelDisableThreshold", "QuotaRemindThreshold")
                + _f("toggle", "AutomaticDisableChannelEnabled", "AutomaticEnableChannelEnabled")),
        Section("general", "General", _f("text", "TopUpLink", "ChatLink")
                + _f("number", "QuotaPerUnit", "RetryTimes")
                + _f("toggle", "DisplayInCurrencyEnabled", "DisplayTokenStatEnabled", "ApproximateTokenEnabled")),
    )),
    ("system", "settings.tab_system", (
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
    ("other", "settings.tab_other", (
        Section("notice", "Notice", _f("long", "Notice")),
        Section("branding", "System", _f("text", "SystemName") + _f("choice", "Theme") + _f("text", "Logo")),
        Section("content", "Content", _f("long", "HomePageContent", "About", "Footer")),
    )),
)

SECTIONS: dict[str, Section] = {s.id: s for _tab, _title, sections in TABS for s in sections}
FIELDS: dict[str, Field] = {f.key: f for s in SECTIONS.values() for f in s.fields}
CHOICES: dict[str, tuple[str, ...]] = {"Theme": THEMES}
