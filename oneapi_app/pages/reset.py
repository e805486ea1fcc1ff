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
from .texts import lang_of, say, tr


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
            self.error = await say(self, "reset.need_email")
            return
        self.busy, self.error, self.notice = True, "", ""
        yield
        rt = runtime()
        try:
            await check_rate_and_turnstile(self, turnstile_token)
            async with rt.db.session() as session:
                await accounts.send_reset_mail(rt, session, email)
            self.notice = await say(self, "reset.sent", email=email)
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error = error_text(exc, "password reset mail", await lang_of(self))
        finally:
            self.busy = False


class ResetConfirmState(SessionState):
    email: str = ""
    error: str = ""
    new_password: str = ""  # shown once, right after the reset
    busy: bool = False
    _token: str = ""

    @rx.event
    async def load(self):
        query = self.router.url.query_parameters
        self.email, self._token = query.get("email", "").strip()[:50], query.get("token", "").strip()[:64]
        self.new_password, self.busy = "", False
        self.error = "" if self.email and self._token else await say(self, "reset.incomplete_link")

    @rx.event
    async def confirm(self):
        if not self.email or not self._token:
            self.error = await say(self, "reset.incomplete_link")
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
            self.error = error_text(exc, "password reset", await lang_of(self))
        finally:
            self.busy = False


@page("/reset", "page.reset", on_load=(ResetRequestState.load,))
def reset_request() -> rx.Component:
    return auth_card(
        rx.heading(tr("reset.title"), size="5"),
        rx.text(tr("reset.intro"), size="2", color="gray"),
        rx.input(value=ResetRequestState.email, on_change=ResetRequestState.set_email, placeholder=tr("reset.email"),
                 type="email", id="reset-email", width="100%", auto_complete="email"),
        turnstile_box(ResetRequestState.turnstile_on),
        error_callout(ResetRequestState.error, "reset-error"),
        success_callout(ResetRequestState.notice, "reset-notice"),
        rx.button(tr("reset.send"), loading=ResetRequestState.busy, width="100%", id="reset-submit",
                  on_click=rx.call_script(TOKEN_JS, callback=ResetRequestState.send)),
        link_row((tr("reset.back"), "/login", "reset-login-link")),
        element_id="reset-card",
    )


def _new_password() -> rx.Component:
    return rx.vstack(
        rx.text(tr("reset.new_password"), size="2"),
        rx.hstack(
            rx.code(ResetConfirmState.new_password, id="reset-new-password", size="4"),
            rx.button(tr("reset.copy"), size="1", variant="soft", id="reset-copy",
                      on_click=[rx.set_clipboard(ResetConfirmState.new_password), rx.toast.success(tr("reset.copied"))]),
            align="center",
        ),
        rx.link(rx.button(tr("reset.login"), width="100%"), href="/login", id="reset-login", width="100%"),
        spacing="2",
        width="100%",
    )


@page("/user/reset", "page.reset_confirm", on_load=(ResetConfirmState.load,))
def reset_confirm() -> rx.Component:
    return auth_card(
        rx.heading(tr("reset.confirm_title"), size="5"),
        rx.cond(
            ResetConfirmState.new_password != "",
            _new_password(),
            rx.fragment(
                rx.cond(ResetConfirmState.email != "",
                        rx.text(tr("reset.confirm_intro"), " ", rx.code(ResetConfirmState.email, id="reset-confirm-email"),
                                size="2")),
                error_callout(ResetConfirmState.error, "reset-confirm-error"),
                rx.button(tr("reset.confirm"), loading=ResetConfirmState.busy, width="100%", id="reset-confirm",
                          disabled=ResetConfirmState.email == "", on_click=ResetConfirmState.confirm),
                link_row((tr("reset.new_link"), "/reset", "reset-new-link"), (tr("reset.back"), "/login", "reset-back")),
            ),
        ),
        element_id="reset-confirm-card",
    )
