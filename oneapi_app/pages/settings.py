"""Settings (root): every system option of the options table, in One API's tabs (operation, system, other).

Every write goes through ``services.options.update_option`` -- the service behind PUT /api/option, which holds
the rules (reserved keys, a login method refused before it is configured, typed values) -- from a ``@writes``
handler that re-checks the root role. Toggles are saved at once; the other fields of a section by its Save
button, only those changed, after the page's own check of numbers and ratio tables (all or nothing: nothing is
saved while one field is wrong; GroupRateLimits, the rate limits per group, is checked as the service checks it). The page reads what GET /api/option answers (``admin_view``: secrets left
out, the ratio tables whole). Secrets are write-only: the page knows only whether one is stored; a typed
secret travels once with its form's submit and never sits in the page's state.

Admins who are not root see where their own settings are (Account), as in One API, where the system tabs are
root's alone.
"""

from __future__ import annotations

import json
import math
from typing import Any

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Role
from ..services.mail import send_email
from ..services.options import RATE_LIMIT_FIELDS, Options, admin_view, update_option
from .actions import Write, writes
from .common import UiError
from .components.settings_fields import FIELDS, JSON_KINDS, SECTIONS, TEXT, Field
from .components.settings_forms import settings_tabs
from .registry import page
from .state import SessionState
from .texts import lang_of, tr


def check_value(field: Field, text: str, lang: str = "en") -> None:
    """The page's check before saving (the service checks again): a UiError naming the field (in ``lang``)."""
    label = t(field.label, lang)

    def bad(key: str, **params: object) -> UiError:
        return UiError(TEXT[key], label=label, **params)

    if field.kind == "number":
        kind = Options.model_fields[field.key].annotation
        try:
            number = float(text.strip())
        except ValueError:
            raise bad("bad_number", value=text) from None
        if not math.isfinite(number):
            raise bad("bad_number", value=text)
        if kind is int and not number.is_integer():
            raise bad("bad_whole", value=text)
        if number < 0:
            raise bad("negative")
    elif field.kind in JSON_KINDS:
        try:
            table = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise bad("bad_json", error=f"{exc.msg} (line {exc.lineno})") from None
        if field.kind == "limits":
            check_limits(table, label)
            return
        if not isinstance(table, dict):
            raise bad("bad_table")
        for name, value in table.items():
            # Any number, as the service takes it (the built-in table has a negative sentinel).
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad("bad_entry", name=name)


LIMITS_SHAPE = '{"default": {"rpm": 60}}'


def check_limits(table: object, label: str) -> None:
    """GroupRateLimits, parsed: group -> {rpm, tpm, concurrency, user_rpm, user_tpm, user_concurrency}, each a
    whole number >= 0 (services/options.py refuses the same; here the message says which entry is wrong)."""
    if not isinstance(table, dict):
        raise UiError(TEXT["bad_limits_table"], label=label, example=LIMITS_SHAPE)
    for group, limits in table.items():
        if not isinstance(limits, dict):
            raise UiError(TEXT["bad_limits_group"], label=label, name=group, example=LIMITS_SHAPE)
        for name, value in limits.items():
            if name not in RATE_LIMIT_FIELDS:
                raise UiError(TEXT["bad_limits_name"], label=label, group=group, name=name,
                              known=", ".join(RATE_LIMIT_FIELDS))
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UiError(TEXT["bad_limits_value"], label=label, group=group, name=name, value=json.dumps(value))


def stored_text(field: Field, text: str) -> str:
    """What is sent to the service: numbers and one-line texts trimmed, a JSON table compact (checked first)."""
    if field.kind in JSON_KINDS:
        return json.dumps(json.loads(text or "{}"), ensure_ascii=False, separators=(",", ":"))
    return text.strip() if field.kind in ("number", "text") else text


def page_values(options: Options) -> tuple[dict[str, str], dict[str, bool], dict[str, bool]]:
    """What the page may hold: the text of every non-secret field, the toggles, and which secrets are stored."""
    view = {row["key"]: row["value"] for row in admin_view(options)}
    values = {k: view.get(k, "") for k, f in FIELDS.items() if f.kind not in ("toggle", "secret")}
    for key in (k for k, f in FIELDS.items() if f.kind in JSON_KINDS):  # one entry a line, as an admin edits it
        values[key] = json.dumps(json.loads(values[key] or "{}"), indent=2, ensure_ascii=False)
    toggles = {k: view.get(k) == "true" for k, f in FIELDS.items() if f.kind == "toggle"}
    stored = {k: bool(getattr(options, k, "")) for k, f in FIELDS.items() if f.kind == "secret"}
    return values, toggles, stored


EMPTY_VALUES = {k: "" for k, f in FIELDS.items() if f.kind not in ("toggle", "secret")}
EMPTY_TOGGLES = {k: False for k, f in FIELDS.items() if f.kind == "toggle"}
EMPTY_SECRETS = {k: False for k, f in FIELDS.items() if f.kind == "secret"}


class SettingsState(rx.State):
    values: dict[str, str] = EMPTY_VALUES
    toggles: dict[str, bool] = EMPTY_TOGGLES
    secret_stored: dict[str, bool] = EMPTY_SECRETS
    test_mail_to: str = ""
    _loaded: dict[str, str] = {}  # the values as stored: a Save sends only what differs

    def _show(self, options: Options, keys: tuple[str, ...] | None = None) -> None:
        values, toggles, stored = page_values(options)
        if keys is None:
            self.values, self.toggles, self.secret_stored, self._loaded = values, toggles, stored, dict(values)
            return
        for key in keys:
            if key in values:
                self.values[key] = self._loaded[key] = values[key]
            elif key in toggles:
                self.toggles[key] = toggles[key]
            elif key in stored:
                self.secret_stored[key] = stored[key]

    @rx.event
    async def load(self):
        user = await (await self.get_state(SessionState))._fresh_user(Role.ROOT)
        if user is None:
            self.values, self.toggles, self.secret_stored = dict(EMPTY_VALUES), dict(EMPTY_TOGGLES), dict(EMPTY_SECRETS)
            self._loaded = {}
            return
        self._show(runtime().options)
        self.test_mail_to = user.email or ""

    @rx.event
    def set_value(self, key: str, value: str):
        if key in self.values:
            self.values[key] = str(value)

    @rx.event
    def set_test_mail_to(self, value: str):
        self.test_mail_to = str(value).strip()

    @rx.event
    @writes(Role.ROOT, action="settings: test mail")
    async def send_test_mail(self, w: Write):
        to = self.test_mail_to
        if "@" not in to or len(to) > 254 or any(c.isspace() for c in to):
            return rx.toast.error(await self._text("test_mail_bad_to"))
        system, lang = w.runtime.options.SystemName, await lang_of(self)
        await send_email(w.runtime.options, to, t(TEXT["test_mail_subject"], lang, system=system),
                         t(TEXT["test_mail_body"], lang, system=system))
        return rx.toast.success(await self._text("test_mail_sent", to=to))

    async def _text(self, key: str, **params: object) -> str:
        """A text of the page's table (TEXT) in the user's language."""
        return t(TEXT[key], await lang_of(self), **params)

    async def _store(self, w: Write, key: str, value: Any) -> None:
        """One option through the service behind PUT /api/option; the runtime serves the new options at once."""
        w.runtime.options = await update_option(w.session, w.runtime.options, key, value, bus=w.bus)

    @rx.event
    @writes(Role.ROOT, action="settings: toggle")
    async def set_toggle(self, w: Write, key: str, on: bool):
        field = FIELDS.get(key)
        if field is None or field.kind != "toggle":
            return
        try:
            await self._store(w, key, bool(on))
        finally:
            self._show(w.runtime.options, (key,))  # a refused switch flips back
        label = t(field.label, await lang_of(self))
        return rx.toast.success(await self._text("toggle_on" if on else "toggle_off", label=label))

    @rx.event
    @writes(Role.ROOT, action="settings: save")
    async def save_section(self, w: Write, section_id: str):
        section = SECTIONS.get(section_id)
        if section is None:
            return
        changed = [(f, self.values.get(f.key, "")) for f in section.saved_by_button()
                   if self.values.get(f.key, "") != self._loaded.get(f.key, "")]
        if not changed:
            return rx.toast.info(await self._text("nothing_changed"))
        lang = await lang_of(self)
        for field, text in changed:
            check_value(field, text, lang)
        for field, text in changed:
            await self._store(w, field.key, stored_text(field, text))
            self._show(w.runtime.options, (field.key,))
        return rx.toast.success(await self._text("saved", section=t(section.title_id, lang)))

    @rx.event
    @writes(Role.ROOT, action="settings: secret")
    async def save_secret(self, w: Write, key: str, form: dict):
        field = FIELDS.get(key)
        if field is None or field.kind != "secret":
            return
        value = str(form.get("secret", ""))
        if not value.strip():
            return rx.toast.info(await self._text("secret_empty"))
        await self._store(w, key, value.strip())
        self._show(w.runtime.options, (key,))
        return rx.toast.success(await self._text("secret_saved", label=t(field.label, await lang_of(self))))


@page("/setting", "page.settings", nav="page.settings", icon="settings", min_role=Role.ADMIN, on_load=(SettingsState.load,))
def settings_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.settings"), size="5"),
        rx.cond(
            SessionState.role >= Role.ROOT,
            settings_tabs(SettingsState),
            rx.callout.root(
                rx.callout.icon(rx.icon("info")),
                rx.callout.text(tr(TEXT["root_only"]), " ", tr(TEXT["personal"]), " ",
                                rx.link(tr(TEXT["open_account"]), href="/account", id="settings-account-link")),
                id="settings-root-only",
            ),
        ),
        spacing="3",
        width="100%",
    )
