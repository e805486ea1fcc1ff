"""Account: the logged-in user's own profile, quota, invitation link, access token and top-up by code.

Like one-api's "Settings -> personal" and "Top up" pages, through the same services and request models as
/api/user/self, /api/user/token, /api/user/aff and /api/user/topup. Every handler is a ``@writes`` handler: it
re-reads the user's own row and refuses when it is disabled or deleted. The password hash never reaches the
page; the access token is in the frontend state only right after it was generated (and gone on the next page
load).
"""

from __future__ import annotations

import json

import reflex as rx

from ..appliance import runtime
from ..auth.tickets import issue_ticket
from ..i18n import t
from ..models import Role, User
from ..models.schemas import Redeem, SelfUpdate
from ..services import redemptions
from ..services import users as user_service
from .actions import Write, writes
from .common import UiError, format_quota, public_address
from .components.widgets import error_callout
from .registry import page
from .state import SessionState
from .texts import tr

ROLE_NAMES: dict[int, str] = {Role.COMMON: "account.role_common", Role.ADMIN: "account.role_admin",
                              Role.ROOT: "account.role_root"}


# --- pure helpers (unit-tested) ---------------------------------------------------------------------------

def role_name(role: int, lang: str = "en") -> str:
    if role <= Role.GUEST:
        return t("account.role_guest", lang)
    return t(ROLE_NAMES[role], lang) if role in ROLE_NAMES else t("account.role_n", lang, role=role)


def invitation_link(server_address: str, aff_code: str) -> str:
    """ServerAddress + /register?aff=<code>, as one-api builds it (no double slash)."""
    return f"{(server_address or '').rstrip('/')}/register?aff={aff_code}"


def profile_changes(display_name: str, password: str, password2: str, current_display_name: str) -> dict:
    """The body of PUT /api/user/self for the edit form: only what changed. Validated by the shared request
    model (SelfUpdate); raises ValueError / ValidationError."""
    changes: dict = {}
    if display_name.strip() != current_display_name:
        changes["display_name"] = display_name.strip()
    if password or password2:
        if password != password2:
            raise UiError("account.mismatch")
        changes["password"] = password
    if not changes:
        raise UiError("account.nothing")
    return SelfUpdate(**changes).model_dump(exclude_unset=True)


# --- state ------------------------------------------------------------------------------------------------

class AccountState(SessionState):
    group: str = ""
    role_label: str = ""
    quota_text: str = ""
    used_text: str = ""
    request_count: int = 0
    aff_link: str = ""
    top_up_link: str = ""
    error: str = ""

    # edit profile
    name_input: str = ""
    password: str = ""
    password2: str = ""
    profile_error: str = ""

    # access token: only right after it was generated
    new_token: str = ""

    # top-up
    code: str = ""
    topup_result: str = ""
    topup_error: str = ""
    busy: bool = False

    def _show(self, user: User) -> None:
        options = runtime().options
        in_currency, per_unit = bool(options.DisplayInCurrencyEnabled), float(options.QuotaPerUnit)
        self._remember(user)
        self.group = user.group
        self.role_label = role_name(user.role, self._lang())
        self.quota_text = format_quota(user.quota, in_currency, per_unit)
        self.used_text = format_quota(user.used_quota, in_currency, per_unit)
        self.request_count = user.request_count
        self.top_up_link = options.TopUpLink or ""

    async def _reload(self, w: Write) -> str:
        """Show the user's row again; return the stored display name (the header falls back to the username)."""
        await w.session.refresh(w.user)
        code = await user_service.ensure_aff_code(w.session, w.user)
        self._show(w.user)
        self.aff_link = invitation_link(public_address(w.runtime.options.ServerAddress, self.router.headers.origin), code)
        return w.user.display_name or ""

    @rx.event
    async def load(self):
        self.new_token, self.code, self.topup_result, self.topup_error = "", "", "", ""
        self.password, self.password2, self.profile_error, self.error = "", "", "", ""
        if self._user_id:
            return await self._load()

    @writes(error="error", action="account page action")
    async def _load(self, w: Write):
        self.name_input = await self._reload(w)

    # ---- copy helpers

    @rx.event
    def copy_aff(self):
        if not self.aff_link:
            return rx.toast.error(self._say("account.no_link"))
        return [rx.set_clipboard(self.aff_link), rx.toast.success(self._say("account.link_copied"), id="account-toast")]

    @rx.event
    def copy_token(self):
        if not self.new_token:
            return rx.toast.error(self._say("account.no_token"))
        return [rx.set_clipboard(self.new_token), rx.toast.success(self._say("account.token_copied"), id="account-toast")]

    @rx.event
    def hide_token(self):
        self.new_token = ""

    # ---- access token (GET /api/user/token)

    @rx.event
    @writes(error="error", action="account page action")
    async def generate_token(self, w: Write):
        self.new_token, self.error = await user_service.new_access_token(w.session, w.user), ""
        return rx.toast.success(self._say("account.token_generated"), id="account-toast")

    # ---- top-up (POST /api/user/topup)

    @rx.event
    def set_code(self, value: str):
        self.code = value

    @rx.event
    @writes(error="topup_error", action="account page action")
    async def redeem(self, w: Write, form: dict | None = None):
        self.busy, self.topup_result = True, ""
        yield
        rt = w.runtime
        try:
            body = Redeem(key=self.code.strip())
            quota = await redemptions.redeem(rt.db, w.session, rt.options, w.user, body.key, bus=w.bus)
            await self._reload(w)
        finally:
            self.busy = False
        options = rt.options
        credited = format_quota(quota, bool(options.DisplayInCurrencyEnabled), float(options.QuotaPerUnit))
        self.busy, self.code, self.topup_error = False, "", ""
        self.topup_result = self._say("account.redeemed", amount=credited)
        yield rx.toast.success(self.topup_result, id="account-toast")

    # ---- edit profile (PUT /api/user/self)

    @rx.event
    def set_name_input(self, value: str):
        self.name_input = value

    @rx.event
    def set_password(self, value: str):
        self.password = value

    @rx.event
    def set_password2(self, value: str):
        self.password2 = value

    @rx.event
    @writes(error="profile_error", action="account page action")
    async def save_profile(self, w: Write):
        changes = profile_changes(self.name_input, self.password, self.password2, w.user.display_name or "")
        await user_service.update_self(w.session, w.user, changes, bus=w.bus)
        self._show(w.user)
        self.profile_error, self.password, self.password2 = "", "", ""
        if "password" not in changes:
            return rx.toast.success(self._say("account.saved"), id="account-toast")
        # The password change ended every other session, this one's cookie included (it carries a stamp of
        # the old hash). Like PUT /api/user/self, this session stays: hand a fresh cookie over with a ticket.
        ticket = await issue_ticket(w.runtime, self._user_id)
        target = "/api/user/session?ticket=" + ticket + "&next=/account"
        return [rx.toast.success(self._say("account.password_changed"), id="account-toast"),
                rx.call_script(f"window.location.assign({json.dumps(target)})")]


# --- view -------------------------------------------------------------------------------------------------

def _stat(label, value, id_: str) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.text(value, size="4", weight="bold", id=id_),
                     spacing="1", min_width="140px")


def _line(label, value, id_: str) -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", width="110px", flex_shrink="0"),
                     rx.text(value, size="2", id=id_, min_width="0", overflow_wrap="anywhere"), align="center")


def _overview() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("page.account"), size="4"),
            _line(tr("account.username"), AccountState.username, "account-username"),
            _line(tr("account.display_name"), AccountState.display_name, "account-display"),
            _line(tr("account.group"), AccountState.group, "account-group"),
            _line(tr("account.role"), AccountState.role_label, "account-role"),
            rx.hstack(
                _stat(tr("account.remaining"), AccountState.quota_text, "account-quota"),
                _stat(tr("account.used"), AccountState.used_text, "account-used"),
                _stat(tr("account.requests"), AccountState.request_count, "account-requests"),
                spacing="6", wrap="wrap",
            ),
            rx.text(tr("account.aff_link"), size="2", weight="medium"),
            rx.hstack(
                rx.input(value=AccountState.aff_link, read_only=True, id="account-aff-link", width="100%"),
                rx.button(rx.icon("copy", size=14), tr("common.copy"), variant="soft", on_click=AccountState.copy_aff,
                          id="account-aff-copy"),
                width="100%",
            ),
            spacing="3", width="100%",
        ),
        width="100%",
        id="account-card",
    )


def _profile() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("account.edit_profile"), size="4"),
            rx.text(tr("account.display_name"), size="2", weight="medium"),
            rx.input(value=AccountState.name_input, on_change=AccountState.set_name_input, id="account-display-name",
                     max_length=20, width="100%"),
            rx.text(tr("account.new_password"), size="2", weight="medium"),
            rx.input(type="password", value=AccountState.password, on_change=AccountState.set_password,
                     id="account-password", max_length=20, width="100%", auto_complete="new-password"),
            rx.input(type="password", value=AccountState.password2, on_change=AccountState.set_password2,
                     id="account-password2", max_length=20, width="100%", placeholder=tr("account.repeat_password"),
                     auto_complete="new-password"),
            rx.text(tr("account.password_hint"), size="1", color_scheme="gray"),
            error_callout(AccountState.profile_error, "account-profile-error"),
            rx.button(tr("common.save"), on_click=AccountState.save_profile, id="account-save"),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def _access_token() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("account.access_token"), size="4"),
            rx.text(tr("account.access_token_hint"), size="2", color_scheme="gray"),
            rx.button(rx.icon("key-round", size=14), tr("account.generate"), on_click=AccountState.generate_token,
                      id="account-new-token"),
            rx.cond(
                AccountState.new_token != "",
                rx.vstack(
                    rx.callout(tr("account.copy_now"),
                               color_scheme="amber", icon="triangle_alert", width="100%"),
                    rx.hstack(
                        rx.code(AccountState.new_token, id="account-token-value", word_break="break-all"),
                        rx.button(rx.icon("copy", size=14), tr("common.copy"), variant="soft", size="1",
                                  on_click=AccountState.copy_token, id="account-token-copy"),
                        rx.button(tr("account.hide"), variant="ghost", size="1", on_click=AccountState.hide_token,
                                  id="account-token-hide"),
                        align="center", wrap="wrap",
                    ),
                    width="100%",
                ),
            ),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def _top_up() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("account.top_up"), size="4"),
            rx.form(
                rx.hstack(
                    rx.input(value=AccountState.code, on_change=AccountState.set_code, id="topup-code", name="code",
                             placeholder=tr("account.code"), max_length=64, width="100%"),
                    rx.button(tr("account.redeem"), type="submit", loading=AccountState.busy, id="topup-submit"),
                    width="100%",
                ),
                on_submit=AccountState.redeem,
                reset_on_submit=False,
                width="100%",
            ),
            rx.cond(AccountState.topup_result != "",
                    rx.callout(AccountState.topup_result, color_scheme="green", icon="circle_check",
                               id="topup-result", width="100%")),
            error_callout(AccountState.topup_error, "topup-error"),
            rx.cond(AccountState.top_up_link != "",
                    rx.link(tr("account.buy"), href=AccountState.top_up_link, is_external=True, id="topup-buy")),
            spacing="2", width="100%",
        ),
        width="100%",
    )


@page("/account", "page.account", nav="page.account", icon="user", min_role=Role.COMMON, on_load=(AccountState.load,))
def account_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.account"), size="5"),
        error_callout(AccountState.error, "account-error"),
        _overview(),
        rx.grid(_top_up(), _access_token(), columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%"),
        _profile(),
        spacing="4",
        width="100%",
        max_width="960px",
    )
