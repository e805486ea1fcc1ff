"""Register: a new account by username and password, with the email code when EmailVerificationEnabled, the
invitation code of an invitation link (``/register?aff=CODE``, remembered by the browser) and Turnstile when
enabled. The rules are services/accounts.register's, the same as POST /api/user/register; on success the new
user is logged in (the login ticket of auth/tickets.py) and lands on the home page."""

from __future__ import annotations

import json

import reflex as rx

from ..appliance import runtime
from ..auth.tickets import issue_ticket
from ..models.schemas import Registration
from ..services import accounts
from .common import error_text
from .components.auth_forms import auth_card, link_row, success_callout, turnstile_box
from .components.widgets import error_callout
from .public_checks import TOKEN_FIELD, TOKEN_JS, check_rate_and_turnstile, render_turnstile_js
from .registry import page
from .state import SessionState
from .texts import lang_of, say, tr

CLOSED_TEXT = {accounts.REGISTER_CLOSED: "register.closed", accounts.PASSWORD_REGISTER_CLOSED: "register.password_closed"}


class RegisterState(SessionState):
    closed: str = ""  # why registration is closed now ("" when open)
    email_verification: bool = False
    turnstile_on: bool = False
    email: str = ""
    aff_code: str = ""
    saved_aff: str = rx.LocalStorage("", name="oneapi_aff")  # an invitation link's code, kept for later visits
    error: str = ""
    notice: str = ""
    busy: bool = False
    sending: bool = False
    _turnstile_passed: bool = False

    @rx.event
    async def load(self):
        options = runtime().options
        reason = accounts.registration_closed(options)
        self.closed = (await say(self, CLOSED_TEXT[reason])) if reason in CLOSED_TEXT else reason
        self.email_verification = bool(options.EmailVerificationEnabled)
        self.turnstile_on = bool(options.TurnstileCheckEnabled)
        self.error = self.notice = ""
        aff = self.router.url.query_parameters.get("aff", "").strip()[:32]
        if aff:
            self.saved_aff = aff
        self.aff_code = aff or self.saved_aff
        if self.turnstile_on and not self.closed:
            return rx.call_script(render_turnstile_js(options.TurnstileSiteKey))

    @rx.event
    def set_email(self, value: str):
        self.email = str(value)[:50]

    @rx.event
    def set_aff_code(self, value: str):
        self.aff_code = str(value)[:32]

    @rx.event
    async def send_code(self, turnstile_token: str = ""):
        """Mail a verification code to the typed address (after the rate limit and Turnstile, as /api)."""
        if not self.email.strip():
            self.error = await say(self, "register.need_email")
            return
        self.sending, self.error, self.notice = True, "", ""
        yield
        rt = runtime()
        try:
            await check_rate_and_turnstile(self, turnstile_token)
            async with rt.db.session() as session:
                await accounts.send_verification_mail(rt, session, self.email)
            self.notice = await say(self, "register.code_sent", email=self.email.strip())
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error = error_text(exc, "verification mail", await lang_of(self))
        finally:
            self.sending = False

    @rx.event
    async def submit(self, form: dict):
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        if not username or not password:
            self.error = await say(self, "register.missing")
            return
        if password != str(form.get("password2", "")):
            self.error = await say(self, "register.mismatch")
            return
        self.busy, self.error, self.notice = True, "", ""
        yield
        rt = runtime()
        try:
            body = Registration(username=username, password=password, email=self.email.strip(),
                                verification_code=str(form.get("verification_code", "")).strip(),
                                aff_code=self.aff_code.strip())
            await check_rate_and_turnstile(self, form.get(TOKEN_FIELD))
            async with rt.db.session() as session:
                user = await accounts.register(rt, session, body)
            ticket = await issue_ticket(rt, user.id)
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error = error_text(exc, "registration", await lang_of(self))
            self.busy = False
            return
        self._remember(user)
        self.saved_aff = ""  # used: the next account on this browser is not counted as this inviter's
        yield rx.call_script(f"window.location.assign({json.dumps('/api/user/session?ticket=' + ticket + '&next=/')})")


def _email_fields() -> rx.Component:
    return rx.fragment(
        rx.hstack(
            rx.input(value=RegisterState.email, on_change=RegisterState.set_email, placeholder=tr("register.email"),
                     type="email", id="register-email", flex="1", auto_complete="email"),
            rx.button(tr("register.send_code"), type="button", variant="soft", loading=RegisterState.sending,
                      on_click=rx.call_script(TOKEN_JS, callback=RegisterState.send_code), id="register-send-code"),
            width="100%",
        ),
        rx.input(name="verification_code", placeholder=tr("register.code"), id="register-code", width="100%",
                 auto_complete="one-time-code"),
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.input(name="username", placeholder=tr("register.username"), id="register-username", width="100%",
                     auto_complete="username", max_length=12),
            rx.input(name="password", placeholder=tr("register.password"), type="password", id="register-password",
                     width="100%", auto_complete="new-password", max_length=20),
            rx.input(name="password2", placeholder=tr("register.password2"), type="password", id="register-password2",
                     width="100%", auto_complete="new-password", max_length=20),
            rx.cond(RegisterState.email_verification, _email_fields()),
            rx.input(value=RegisterState.aff_code, on_change=RegisterState.set_aff_code, placeholder=tr("register.aff"),
                     id="register-aff", width="100%"),
            turnstile_box(RegisterState.turnstile_on),
            error_callout(RegisterState.error, "register-error"),
            success_callout(RegisterState.notice, "register-notice"),
            rx.button(tr("register.submit"), type="submit", loading=RegisterState.busy, width="100%",
                      id="register-submit"),
            spacing="3",
        ),
        on_submit=RegisterState.submit,
        reset_on_submit=False,
        width="100%",
    )


@page("/register", "page.register", on_load=(RegisterState.load,))
def register() -> rx.Component:
    return auth_card(
        rx.heading(tr("register.title"), size="5"),
        rx.cond(
            RegisterState.closed != "",
            rx.callout(RegisterState.closed, color_scheme="orange", icon="lock", id="register-closed", width="100%"),
            _form(),
        ),
        link_row((tr("register.have_account"), "/login", "register-login-link")),
        element_id="register-card",
    )
