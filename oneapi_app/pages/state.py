"""Dashboard session state: who is logged in. Secrets never reach the browser (backend vars start with _)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import reflex as rx

from ..appliance import runtime
from ..auth.sessions import is_current, password_stamp, session_from_cookie_header
from ..auth.tickets import issue_ticket, safe_next
from ..i18n import normalize, t
from ..models import Role, User, UserStatus
from ..services.users import ROOT_DEFAULT_PASSWORD, authenticate
from .common import footer_markdown

NEEDS_ROLE: dict[int, str] = {Role.ADMIN: "shell.needs_admin", Role.ROOT: "shell.needs_root"}


class SessionState(rx.State):
    _user_id: int = 0
    _logged_out_cookie: str = ""
    _pw_stamp: str = ""
    username: str = ""
    display_name: str = ""
    role: int = 0
    system_name: str = "One API"
    logo: str = ""  # the Logo option: an image URL shown in the header
    footer: str = ""  # the Footer option (Markdown; one-api's HTML is shown as text, never run)
    # The dashboard language, remembered by the browser (localStorage); "" until known: the browser's then.
    lang: str = rx.LocalStorage("", name="oneapi_lang", sync=True)
    default_password: bool = False  # logged in with root's default password and not changed since
    _default_pw_stamp: str = ""
    _guard_message: str = ""  # why require_role sent this tab to the login form, and the page it wanted
    _guard_next: str = ""
    _login_next: str = "/"  # where the login form goes after logging in (set by LoginPageState.load)

    @rx.var
    def logged_in(self) -> bool:
        return self.role >= Role.COMMON

    @rx.var
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN

    def _lang(self) -> str:
        """The language of texts made on the backend for this browser (``en`` or ``zh``)."""
        return normalize(self.lang)

    def _say(self, msg_id: str, **params: object) -> str:
        return t(msg_id, self._lang(), **params)

    @rx.event
    def set_lang(self, value: str):
        """The language switch (and, on the first visit, the browser's language)."""
        self.lang = normalize(value)

    @rx.event
    async def refresh(self):
        """Re-read the user on each page load: a disabled or deleted user is logged out at once. On the first
        visit, ask the browser for its language (the texts made on the backend follow it)."""
        await self._refresh()
        if not self.lang:
            return rx.call_script("navigator.language", callback=SessionState.set_lang)
        return None

    async def _refresh(self) -> None:
        rt = runtime()
        options = rt.options
        self.system_name = options.SystemName or "One API"
        self.logo, self.footer = (options.Logo or "").strip(), footer_markdown(options.Footer)
        secret = rt.settings.session_secret
        cookie = self.router.headers.cookie
        payload = {}
        if not self._user_id and cookie and cookie != self._logged_out_cookie:
            # The session cookie /api sets (HttpOnly) reaches the backend with the websocket's headers.
            payload = session_from_cookie_header(secret, cookie)
            self._user_id = v if isinstance(v := payload.get("id"), int) else 0
        if not self._user_id:
            return
        async with rt.db.session() as session:
            user = await session.get(User, self._user_id)
        stamp = password_stamp(secret, user.password) if user is not None else ""
        if payload and user is not None and not is_current(secret, payload, user.password):
            user = None  # a cookie from before a password change
        if user is None or user.status != UserStatus.ENABLED or (self._pw_stamp and self._pw_stamp != stamp):
            self._forget()
        else:
            self._remember(user)

    async def _fresh_user(self, min_role: int = Role.COMMON, session=None) -> User | None:
        """The logged-in user re-read from the database now, if still enabled and of at least ``min_role``;
        else None. Every write checks this: a user disabled or demoted since page load is refused at once.
        With ``session`` the row is read (and stays attached) in the caller's database session."""
        if not self._user_id:
            return None
        if session is None:
            async with runtime().db.session() as own:
                user = await own.get(User, self._user_id)
        else:
            user = await session.get(User, self._user_id)
        if user is None or user.status != UserStatus.ENABLED or user.role < min_role:
            return None
        return user

    def _refuse(self) -> list:
        """Log out a user found disabled or deleted mid-session; the events that tell them so."""
        self._forget()
        return [rx.toast.error(self._say("shell.account_disabled")), rx.redirect("/login")]

    @rx.event
    def require_role(self, min_role: int):
        """A page's guard: whoever lacks ``min_role`` is sent to /login, told why (a toast, and a callout on the
        form: LoginPageState), and a login from there returns to the page."""
        if self.role >= min_role:
            return None
        why = self._say("shell.needs_login" if self.role < Role.COMMON
                       else NEEDS_ROLE.get(min_role, NEEDS_ROLE[Role.ADMIN]))
        self._guard_message = why if self.role < Role.COMMON else \
            f"{why} {self._say('shell.logged_in_as', user=self.username)}"
        self._guard_next = self.router.url.path or "/"
        return [rx.toast.error(why, id="page-denied"), rx.redirect("/login")]

    def _remember(self, user: User) -> None:
        self._pw_stamp = password_stamp(runtime().settings.session_secret, user.password)
        # The default-password warning lasts until this password changes (or the user logs out).
        self.default_password = self.default_password and self._pw_stamp == self._default_pw_stamp
        self._user_id = user.id or 0
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.role = user.role

    def _forget(self) -> None:
        self._user_id, self.username, self.display_name, self.role, self._pw_stamp = 0, "", "", 0, ""
        self.default_password, self._default_pw_stamp = False, ""

    @rx.event
    def logout(self):
        # The websocket keeps the headers of its connection: never log in again from that stale cookie.
        self._logged_out_cookie = self.router.headers.cookie
        self._forget()
        # The server clears the HttpOnly session cookie (a same-origin fetch stores its Set-Cookie).
        return [rx.call_script("fetch('/api/user/logout', {credentials: 'same-origin'})"), rx.redirect("/login")]


class AdminListMixin(rx.State, mixin=True):
    """What the admins' list pages (Users, Redemptions) share: the rows, the search keyword, the pager, the delete
    confirmation, and the admin check re-done on every action. Each page state defines ``async def _reload()``,
    which fills ``rows`` and ``has_next`` from its service."""

    rows: list[dict[str, str]] = []
    keyword: str = ""
    page_no: int = 0
    has_next: bool = False
    confirm_id: int = 0
    confirm_text: str = ""

    if TYPE_CHECKING:  # each page state defines it (a placeholder here would be a Reflex state method)
        async def _reload(self) -> None: ...

    async def _admin(self) -> User | None:
        """The logged-in user if still an enabled admin (re-read on every action), else None."""
        return await (await self.get_state(SessionState))._fresh_user(Role.ADMIN)

    @rx.event
    async def set_keyword(self, value: str):
        self.keyword, self.page_no = str(value), 0
        if await self._admin() is not None:
            await self._reload()

    @rx.event
    async def go_page(self, delta: int):
        if await self._admin() is None:
            return
        self.page_no = max(0, self.page_no + int(delta))
        await self._reload()

    @rx.event
    def cancel_confirm(self):
        self.confirm_id, self.confirm_text = 0, ""

    # the editor dialog: each page lists its form fields in ``_fields`` (plain state vars named f_*)
    editor_open: bool = False
    error: str = ""

    def _fields(self) -> tuple[str, ...]:
        return ()

    @rx.event
    def set_field(self, field: str, value: str):
        if field in self._fields():
            setattr(self, field, str(value))

    @rx.event
    def set_editor_open(self, value: bool):
        self.editor_open = bool(value)
        if not value:
            self.error = ""


class LoginState(SessionState):
    error: str = ""
    busy: bool = False

    @rx.event
    async def submit(self, form: dict):
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        if not username or not password:
            self.error = self._say("login.enter_both")
            return
        rt = runtime()
        if not rt.options.PasswordLoginEnabled:
            self.error = self._say("login.password_off")
            return
        self.busy = True
        yield
        async with rt.db.session() as session:
            user = await authenticate(session, username, password)
        self.busy = False
        if user is None:
            self.error = self._say("login.wrong")
            return
        self.error = ""
        self._remember(user)
        if password == ROOT_DEFAULT_PASSWORD:  # one-api warns too: root/123456 is the first thing tried
            self.default_password, self._default_pw_stamp = True, self._pw_stamp
        # Hand the login to the server, which sets the same HttpOnly session cookie as /api/user/login.
        ticket = await issue_ticket(rt, user.id)
        after = urlencode({"ticket": ticket, "next": safe_next(self._login_next or "/")})
        yield rx.call_script(f"window.location.assign({json.dumps('/api/user/session?' + after)})")
