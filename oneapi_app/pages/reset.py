"""Password reset, in two pages as one-api: /reset asks for the account's email and mails a reset link
(services/accounts.send_reset_mail, as GET /api/reset_password); the link opens /user/reset?email&token,
whose button sets a new random password and shows it once (accounts.confirm_reset, as POST /api/user/reset).
The link is used only when the button is pressed, so a mail scanner that opens it changes nothing."""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from ..services import accounts
from .common import error_text
from .components.auth_forms import auth_card, link_row, success_callout, turnstile_box
from .components.widgets import error_callout
from .public_checks import TOKEN_JS, check_rate, check_rate_and_turnstile, render_turnstile_js
from .registry import page
from .state import SessionState

TEXT = {
    "title": "Reset the password",
    "intro": "Enter the email address of your account: we send you a link to reset the password.",
    "email": "Email address",
    "send": "Send the reset link",
    "need_email": "Enter your email address.",
    "sent": "A reset link was sent to {email}; it is valid for 10 minutes.",
    "back": "Back to log in",
    "confirm_title": "Set a new password",
    "confirm_intro": "A new random password will be set for the account of",
    "confirm": "Reset the password",
    "bad_link": "This reset link is incomplete; ask for a new one.",
    "new_password": "Your new password (shown once: copy it, log in and change it on the Account page):",
    "copy": "Copy",
    "copied": "Password copied",
    "login": "Log in",
    "new_link": "Ask for a new link",
}


class ResetRequestState(SessionState):
    email: str = ""
    error: str = ""
    notice: str = ""
    busy: bool = False
    turnstile_on: bool = False
    _turnstile_passed: bool = False

    @rx.event
    def load(self):
        options = runtime().options
        self.error = self.notice = ""
        self.turnstile_on = bool(options.TurnstileCheckEnabled)
        if self.turnstile_on:
            return rx.call_script(render_turnstile_js(options.TurnstileSiteKey))

    @rx.event
    def set_email(self, value: str):
        self.email = str(value)[:50]

    @rx.event
    async def send(self, turnstile_token: str = ""):
        email = self.email.strip()
        if not email:
            self.error = TEXT["need_email"]
            return
        self.busy, self.error, self.notice = True, "", ""
        yield
        rt = runtime()
        try:
            await check_rate_and_turnstile(self, turnstile_token)
            async with rt.db.session() as session:
                await accounts.send_reset_mail(rt, session, email)
            self.notice = TEXT["sent"].format(email=email)
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error = error_text(exc, "password reset mail")
        finally:
            self.busy = False


class ResetConfirmState(SessionState):
    email: str = ""
    error: str = ""
    new_password: str = ""  # shown once, right after the reset
    busy: bool = False
    _token: str = ""

    @rx.event
    def load(self):
        query = self.router.url.query_parameters
        self.email, self._token = query.get("email", "").strip()[:50], query.get("token", "").strip()[:64]
        self.new_password, self.busy = "", False
        self.error = "" if self.email and self._token else TEXT["bad_link"]

    @rx.event
    async def confirm(self):
        if not self.email or not self._token:
            self.error = TEXT["bad_link"]
            return
        self.busy, self.error = True, ""
        yield
        rt = runtime()
        try:
            await check_rate(self)
            async with rt.db.session() as session:
                self.new_password = await accounts.confirm_reset(rt, session, self.email, self._token)
            self._token = ""
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error = error_text(exc, "password reset")
        finally:
            self.busy = False


@page("/reset", "Reset password", on_load=(ResetRequestState.load,))
def reset_request() -> rx.Component:
    return auth_card(
        rx.heading(TEXT["title"], size="5"),
        rx.text(TEXT["intro"], size="2", color="gray"),
        rx.input(value=ResetRequestState.email, on_change=ResetRequestState.set_email, placeholder=TEXT["email"],
                 type="email", id="reset-email", width="100%", auto_complete="email"),
        turnstile_box(ResetRequestState.turnstile_on),
        error_callout(ResetRequestState.error, "reset-error"),
        success_callout(ResetRequestState.notice, "reset-notice"),
        rx.button(TEXT["send"], loading=ResetRequestState.busy, width="100%", id="reset-submit",
                  on_click=rx.call_script(TOKEN_JS, callback=ResetRequestState.send)),
        link_row((TEXT["back"], "/login", "reset-login-link")),
        element_id="reset-card",
    )


def _new_password() -> rx.Component:
    return rx.vstack(
        rx.text(TEXT["new_password"], size="2"),
        rx.hstack(
            rx.code(ResetConfirmState.new_password, id="reset-new-password", size="4"),
            rx.button(TEXT["copy"], size="1", variant="soft", id="reset-copy",
                      on_click=[rx.set_clipboard(ResetConfirmState.new_password), rx.toast.success(TEXT["copied"])]),
            align="center",
        ),
        rx.link(rx.button(TEXT["login"], width="100%"), href="/login", id="reset-login", width="100%"),
        spacing="2",
        width="100%",
    )


@page("/user/reset", "Set a new password", on_load=(ResetConfirmState.load,))
def reset_confirm() -> rx.Component:
    return auth_card(
        rx.heading(TEXT["confirm_title"], size="5"),
        rx.cond(
            ResetConfirmState.new_password != "",
            _new_password(),
            rx.fragment(
                rx.cond(ResetConfirmState.email != "",
                        rx.text(TEXT["confirm_intro"], " ", rx.code(ResetConfirmState.email, id="reset-confirm-email"),
                                size="2")),
                error_callout(ResetConfirmState.error, "reset-confirm-error"),
                rx.button(TEXT["confirm"], loading=ResetConfirmState.busy, width="100%", id="reset-confirm",
                          disabled=ResetConfirmState.email == "", on_click=ResetConfirmState.confirm),
                link_row((TEXT["new_link"], "/reset", "reset-new-link"), (TEXT["back"], "/login", "reset-back")),
            ),
        ),
        element_id="reset-confirm-card",
    )
