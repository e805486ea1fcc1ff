"""The OAuth callback pages: /oauth/github, /oauth/oidc and /oauth/lark, where the provider sends the browser
back with ``?code&state``.

The flow starts at /api/oauth/<provider>/authorize (the Login page's buttons, the Account page's "bind"), which
stores a random state in the session cookie and redirects to the provider. Here the state is checked against
that cookie (the websocket carries it), the code is exchanged and the account logged in, created or bound by
services/accounts (the rules of GET /api/oauth/<provider>); a login then becomes the session cookie through
a single-use ticket (auth/tickets.py), as the Login page's, and lands on the home page.
"""

from __future__ import annotations

import json

import reflex as rx

from ..appliance import runtime
from ..auth.sessions import session_from_cookie_header
from ..auth.tickets import issue_ticket
from ..errors import AccountDisabled
from ..services import accounts
from .common import error_text
from .components.auth_forms import auth_card, link_row, success_callout
from .components.widgets import error_callout
from .public_checks import check_rate
from .registry import page
from .state import SessionState
from .texts import lang_of, say, tr

PROVIDERS = {"github": "GitHub", "oidc": "OIDC", "lark": "Lark"}


class OAuthState(SessionState):
    provider_label: str = ""
    working: bool = False
    error: str = ""
    notice: str = ""

    @rx.event
    async def finish(self):
        """Check the state, exchange the code, then log in (ticket and redirect) or show the binding."""
        name = self.router.url.path.rstrip("/").rpartition("/")[2]
        if name not in PROVIDERS:
            return
        query = self.router.url.query_parameters
        self.provider_label, self.error, self.notice, self.working = PROVIDERS[name], "", "", True
        yield
        rt = runtime()
        cookie = session_from_cookie_header(rt.settings.session_secret, self.router.headers.cookie)
        try:
            await check_rate(self)
            accounts.check_state(cookie.get("oauth_state"), query.get("state", "")[:64])
            external = await accounts.external_user(rt, name, query.get("code", "")[:512])
            async with rt.db.session() as session:
                user, bound = await accounts.oauth_sign_in(rt, session, name, external, self._user_id)
            ticket = "" if bound else await issue_ticket(rt, user.id)
        except AccountDisabled as exc:
            self._forget()
            self.error, self.working = exc.message, False
            return
        except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
            self.error, self.working = error_text(exc, "OAuth login", await lang_of(self)), False
            return
        self._remember(user)
        if bound:
            self.working = False
            self.notice = await say(self, "oauth.bound", provider=PROVIDERS[name], user=user.username)
            return
        yield rx.call_script(f"window.location.assign({json.dumps('/api/user/session?ticket=' + ticket + '&next=/')})")


def _callback_page() -> rx.Component:
    return auth_card(
        rx.heading(tr("page.oauth", provider=OAuthState.provider_label), size="5"),
        rx.cond(OAuthState.working, rx.hstack(rx.spinner(), rx.text(tr("oauth.working"), size="2"), id="oauth-working")),
        error_callout(OAuthState.error, "oauth-error"),
        success_callout(OAuthState.notice, "oauth-notice"),
        rx.cond(OAuthState.working, rx.fragment(),
                link_row((tr("oauth.back_login"), "/login", "oauth-login-link"), (tr("oauth.account"), "/account",
                                                                                 "oauth-account-link"))),
        element_id="oauth-card",
    )


for _name, _label in PROVIDERS.items():
    page(f"/oauth/{_name}", "page.oauth", title_params={"provider": _label}, on_load=(OAuthState.finish,))(_callback_page)
