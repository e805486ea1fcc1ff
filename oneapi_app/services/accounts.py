"""Signing up and signing in without a password at hand: registration (with the email code and invitation
code), the verification and password-reset mails, the reset itself, and the OAuth login or binding.

The rules of both front doors live here: ``/api`` (api/account.py, api/oauth.py) and the dashboard's
Register, Reset and OAuth callback pages call these functions, and keep only their own transport (the
session cookie, the rate limit, the Turnstile check) to themselves.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth import oauth
from ..errors import AccountDisabled, AppError, Refused
from ..i18n import msg
from ..models import User, UserStatus
from ..models.schemas import Registration
from . import mail, users
from .verification import EMAIL_VERIFICATION, PASSWORD_RESET, CodeStore, new_code, new_reset_token

if TYPE_CHECKING:
    from ..runtime import Runtime

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
OAUTH_PROVIDERS = ("github", "oidc", "lark")
RESET_PATH = "/user/reset"  # the page the reset mail links to (one-api's route)

REGISTER_CLOSED = "register.disabled"  # message ids (i18n/messages.py)
PASSWORD_REGISTER_CLOSED = "register.password_disabled"


def _fail(msg_id: str, **params: object) -> AppError:
    return Refused(msg(msg_id, **params))


def registration_closed(options) -> str:
    """Why password registration is closed now (its message id), or "" when it is open."""
    if not options.RegisterEnabled:
        return REGISTER_CLOSED
    if not options.PasswordRegisterEnabled:
        return PASSWORD_REGISTER_CLOSED
    return ""


def valid_email(email: str) -> str:
    email = (email or "").strip()
    if not EMAIL_RE.match(email):
        raise _fail("email.invalid")
    return email


def check_email(options, email: str) -> str:
    """A well-formed address in the allowed domains (EmailDomainRestrictionEnabled)."""
    email = valid_email(email)
    if options.EmailDomainRestrictionEnabled:
        domain = email.rpartition("@")[2].lower()
        allowed = {d.strip().lower() for d in options.EmailDomainWhitelist.split(",") if d.strip()}
        if domain not in allowed:
            raise _fail("email.domain_not_allowed")
    return email


async def send_verification_mail(runtime: Runtime, session: AsyncSession, email: str) -> None:
    """A 6-character code for an address nobody uses yet, valid 10 minutes."""
    options = runtime.options
    email = check_email(options, email)
    if await users.find_by_field(session, "email", email) is not None:
        raise _fail("email.taken")
    code = new_code()
    await CodeStore.of(runtime).put(EMAIL_VERIFICATION, email, code)
    html = (f"<p>您好，你正在进行{options.SystemName}邮箱验证。</p><p>您的验证码为: <strong>{code}</strong></p>"
            "<p>验证码 10 分钟内有效，如果不是本人操作，请忽略。</p>")
    await mail.send_email(options, email, f"{options.SystemName}邮箱验证邮件", html)


async def register(runtime: Runtime, session: AsyncSession, body: Registration) -> User:
    """A new common user by password: open registration, the email code when EmailVerificationEnabled, the
    invitation code's rewards (users.create_user)."""
    options = runtime.options
    closed = registration_closed(options)
    if closed:
        raise _fail(closed)
    email = ""
    if options.EmailVerificationEnabled:
        email = body.email.strip()
        if not email or not body.verification_code:
            raise _fail("register.email_required")
        if await users.find_by_field(session, "email", email) is not None:
            raise _fail("email.taken")
        if not await CodeStore.of(runtime).check(EMAIL_VERIFICATION, email, body.verification_code):
            raise _fail("email.bad_code")
    return await users.create_user(runtime.db, session, options, username=body.username, password=body.password,
                                   display_name=body.display_name, email=email, aff_code=body.aff_code or "")


def reset_link(server_address: str, email: str, token: str) -> str:
    return f"{server_address.rstrip('/')}{RESET_PATH}?{urlencode({'email': email, 'token': token})}"


async def send_reset_mail(runtime: Runtime, session: AsyncSession, email: str) -> None:
    """A single-use link to the reset page (10 minutes) for a registered address."""
    options = runtime.options
    email = valid_email(email)
    if await users.find_by_field(session, "email", email) is None:
        raise _fail("email.not_registered")
    token = new_reset_token()
    await CodeStore.of(runtime).put(PASSWORD_RESET, email, token)
    link = reset_link(options.ServerAddress, email, token)
    html = (f"<p>您好，你正在进行{options.SystemName}密码重置。</p><p>点击 <a href='{link}'>此处</a> 进行密码重置。</p>"
            f"<p>如果链接无法点击，请尝试复制以下链接到浏览器中打开：<br>{link}</p><p>重置链接 10 分钟内有效。</p>")
    await mail.send_email(options, email, f"{options.SystemName}密码重置", html)


async def confirm_reset(runtime: Runtime, session: AsyncSession, email: str, token: str) -> str:
    """The reset link used (once): the user's new random password, to show once."""
    email = (email or "").strip()
    if not email or not token:
        raise _fail("api.invalid_parameter")
    if not await CodeStore.of(runtime).check(PASSWORD_RESET, email, token):
        raise _fail("reset.bad_link")
    user = await users.find_by_field(session, "email", email)
    if user is None:
        raise _fail("email.not_registered")
    return await users.reset_to_random_password(session, user, bus=runtime.changes)


# --- OAuth ------------------------------------------------------------------------------------------------

async def oauth_provider(runtime: Runtime, name: str) -> oauth.Provider:
    """GitHub or OIDC, refused when the admin has not enabled it."""
    if name == "github":
        return oauth.github(runtime.options, runtime.settings)
    return await oauth.oidc(runtime.options, runtime.http)


async def authorization_url(runtime: Runtime, name: str, state: str) -> str:
    """Where to send the browser to log in with provider ``name`` (the caller keeps ``state``)."""
    if name not in OAUTH_PROVIDERS:
        raise _fail("oauth.unknown_provider", provider=repr(name))
    if name == "lark":
        options = runtime.options
        if not options.LarkClientId:
            raise _fail("oauth.lark_disabled")
        redirect = f"{options.ServerAddress.rstrip('/')}/oauth/lark"
        query = urlencode({"redirect_uri": redirect, "app_id": options.LarkClientId, "state": state})
        return f"{oauth.LARK_AUTHORIZE}?{query}"
    return (await oauth_provider(runtime, name)).authorization_url(state)


def check_state(expected: object, state: str) -> None:
    """The provider sent back the state this browser's session stored (403 otherwise)."""
    if not state or not isinstance(expected, str) or not secrets.compare_digest(state, expected):
        raise AppError(msg("oauth.bad_state"), status=403)


async def external_user(runtime: Runtime, name: str, code: str) -> oauth.ExternalUser:
    """The provider's account behind an authorization ``code``."""
    if name == "lark":
        return await oauth.lark_user(runtime.options, runtime.http, code)
    if name not in OAUTH_PROVIDERS:
        raise _fail("oauth.unknown_provider", provider=repr(name))
    return await (await oauth_provider(runtime, name)).fetch_user(code)


async def oauth_sign_in(runtime: Runtime, session: AsyncSession, name: str, external: oauth.ExternalUser,
                        current_id: int = 0) -> tuple[User, bool]:
    """Bind the external account to the logged-in user ``current_id``, or log in its owner, creating
    ``<provider>_<n>`` when nobody has it yet. Returns (user, bound)."""
    column = f"{name}_id"
    if current_id > 0:
        me = await session.get(User, current_id)
        if me is None or me.status != UserStatus.ENABLED:
            raise AccountDisabled(msg("user.banned"))
        return await users.bind(session, me, column, external.id), True
    owner = await users.find_by_field(session, column, external.id)
    if owner is None:
        if not runtime.options.RegisterEnabled:
            raise _fail(REGISTER_CLOSED)
        username = external.username
        try:
            username = users.check_username(username) if username else ""
        except AppError:
            username = ""
        if not username or await users.username_taken(session, username):
            username = await users.next_numbered_username(session, name)
        owner = await users.create_user(
            runtime.db, session, runtime.options, username=username, password=secrets.token_hex(10),
            display_name=(external.display_name or username)[:20], email=external.email[:50],
            **{column: external.id})
    if owner.status != UserStatus.ENABLED:
        raise _fail("user.banned")
    return owner, False
