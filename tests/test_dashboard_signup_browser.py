"""Signing up and in from the dashboard, in a real browser against the real appliance: Register (an invitation
link and an email code from a local SMTP server; the inviter gets the reward), Register closed, the password
reset mail and page, GitHub and OIDC login against a local fake provider, the default-password warning, and
what a common user sees when opening an admin page. Each step is checked through the real /api."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from .api.fake_oauth import CLIENT_ID, CLIENT_SECRET, FakeProvider
from .api.test_mail import Inbox, free_port
from .servers import running_server
from .test_dashboard_browser import browser, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
ROOT_TOKEN = "signup-root-access-token-0123456"
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def inbox():
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory, provider, inbox):
    data = tmp_path_factory.mktemp("signup") / "data"
    env = {"INITIAL_ROOT_ACCESS_TOKEN": ROOT_TOKEN, "GITHUB_BASE_URL": provider.base,
           "GITHUB_API_BASE_URL": provider.base + "/api", "CRITICAL_RATE_LIMIT": "200"}
    with running_server(data, env=env) as (_proc, base, _log):
        root = _root(base)
        for key, value in {"ServerAddress": base, "SMTPServer": "127.0.0.1", "SMTPPort": str(inbox.port),
                           "SMTPFrom": "noreply@oneapi.test"}.items():
            _option(root, key, value)
        root.close()
        yield base


def _root(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": ROOT_TOKEN}, timeout=20)


def _ok(reply: httpx.Response):
    body = reply.json()
    assert body["success"], body
    return body["data"]


def _option(root: httpx.Client, key: str, value) -> None:
    _ok(root.put("/api/option/", json={"key": key, "value": str(value)}))


def _user(root: httpx.Client, username: str) -> dict:
    [found] = [u for u in _ok(root.get("/api/user/search", params={"keyword": username}))
               if u["username"] == username]
    return found


def _page(browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    return context, page


def test_register_with_an_invitation_link_and_an_email_code(appliance, browser, inbox):  # noqa: F811
    root = _root(appliance)
    for key, value in {"QuotaForNewUser": 100, "QuotaForInviter": 7000, "QuotaForInvitee": 300,
                       "EmailVerificationEnabled": "true"}.items():
        _option(root, key, value)
    _ok(root.post("/api/user/", json={"username": "alice", "password": "alice-pass-1"}))
    alice = _user(root, "alice")
    assert alice["aff_code"]

    context, page = _page(browser)
    page.goto(f"{appliance}/register?aff={alice['aff_code']}")
    expect(page.locator("#register-aff")).to_have_value(alice["aff_code"])
    # the invitation is remembered by the browser: still there after a detour through the login page
    page.goto(appliance + "/login")
    page.locator("#login-register").click()
    expect(page).to_have_url(appliance + "/register")
    expect(page.locator("#register-aff")).to_have_value(alice["aff_code"])

    page.locator("#register-username").fill("newbie")
    page.locator("#register-password").fill("newbie-pass-1")
    page.locator("#register-password2").fill("newbie-pass-2")
    page.locator("#register-submit").click()
    expect(page.locator("#register-error")).to_contain_text("differ")
    page.locator("#register-password2").fill("newbie-pass-1")
    page.locator("#register-submit").click()  # email verification is on: the service asks for the code
    expect(page.locator("#register-error")).to_contain_text("enter your email address")

    page.locator("#register-email").fill("newbie@example.com")
    page.locator("#register-send-code").click()
    expect(page.locator("#register-notice")).to_contain_text("newbie@example.com")
    rcpt, _message = inbox.messages[-1]
    assert rcpt == ["newbie@example.com"]
    code = re.search(r"<strong>([0-9a-f]{6})</strong>", inbox.html()).group(1)
    page.locator("#register-code").fill("zzzzzz")
    page.locator("#register-submit").click()
    expect(page.locator("#register-error")).to_contain_text("verification code is wrong")
    page.screenshot(path=str(SHOTS / "oneapi-register.png"))
    page.locator("#register-code").fill(code)
    page.locator("#register-submit").click()
    # registered and logged in: the home page, the session cookie serves /api too
    expect(page.locator("#current-user")).to_have_text("newbie")
    expect(page).to_have_url(appliance + "/")
    me = page.request.get(appliance + "/api/user/self").json()["data"]
    assert me["username"] == "newbie" and me["email"] == "newbie@example.com"
    assert me["inviter_id"] == alice["id"] and me["quota"] == 100 + 300
    assert _user(root, "alice")["quota"] == alice["quota"] + 7000
    context.close()
    _option(root, "EmailVerificationEnabled", "false")
    root.close()


def test_register_closed_says_so(appliance, browser):  # noqa: F811
    root = _root(appliance)
    context, page = _page(browser)
    try:
        _option(root, "RegisterEnabled", "false")
        page.goto(appliance + "/register")
        expect(page.locator("#register-closed")).to_contain_text("Registration is closed")
        expect(page.locator("#register-submit")).to_have_count(0)
        page.goto(appliance + "/login")
        expect(page.locator("#login-forgot")).to_be_visible()
        expect(page.locator("#login-register")).to_have_count(0)
        _option(root, "RegisterEnabled", "true")
        _option(root, "PasswordRegisterEnabled", "false")
        page.goto(appliance + "/register")
        expect(page.locator("#register-closed")).to_contain_text("external account")
    finally:
        _option(root, "RegisterEnabled", "true")
        _option(root, "PasswordRegisterEnabled", "true")
        context.close()
        root.close()


def test_password_reset_by_mail(appliance, browser, inbox):  # noqa: F811
    root = _root(appliance)
    _ok(root.post("/api/user/", json={"username": "carol", "password": "carol-pass-1"}))
    carol = _user(root, "carol")
    _ok(root.put("/api/user/", json={"id": carol["id"], "email": "carol@example.com"}))
    root.close()

    context, page = _page(browser)
    page.goto(appliance + "/login")
    page.locator("#login-forgot").click()
    expect(page).to_have_url(appliance + "/reset")
    page.locator("#reset-email").fill("nobody@example.com")
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-error")).to_contain_text("no user has this email address")
    page.locator("#reset-email").fill("carol@example.com")
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-notice")).to_contain_text("carol@example.com")
    rcpt, _message = inbox.messages[-1]
    assert rcpt == ["carol@example.com"]
    link = re.search(r"href='([^']+)'", inbox.html()).group(1).replace("&amp;", "&")
    assert link.startswith(appliance + "/user/reset?")

    page.goto(link)
    expect(page.locator("#reset-confirm-email")).to_have_text("carol@example.com")
    page.locator("#reset-confirm").click()
    expect(page.locator("#reset-new-password")).to_be_visible()
    password = page.locator("#reset-new-password").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{12}", password)
    page.screenshot(path=str(SHOTS / "oneapi-reset.png"))
    # the link is single use
    page.goto(link)
    page.locator("#reset-confirm").click()
    expect(page.locator("#reset-confirm-error")).to_contain_text("the reset link is invalid or has expired")
    context.close()

    assert not httpx.post(appliance + "/api/user/login", json={"username": "carol", "password": "carol-pass-1"},
                          timeout=20).json()["success"]
    context, page = _page(browser)
    log_in(page, appliance, "carol", password)
    expect(page.locator("#current-user")).to_have_text("carol")
    expect(page.locator("#default-password-warning")).to_have_count(0)
    context.close()


def _provider_login(page, appliance: str, button: str) -> dict:
    page.goto(appliance + "/login")
    page.locator(button).click()
    expect(page.locator("#current-user")).to_be_visible()
    expect(page).to_have_url(appliance + "/")
    reply = page.request.get(appliance + "/api/user/self")
    assert reply.status == 200, reply.text()
    return reply.json()["data"]


def test_github_and_oidc_login(appliance, browser, provider):  # noqa: F811
    root = _root(appliance)
    context, page = _page(browser)
    page.goto(appliance + "/login")
    expect(page.locator("#login-submit")).to_be_visible()
    expect(page.locator("#login-github")).to_have_count(0)
    for key, value in {"GitHubClientId": CLIENT_ID, "GitHubClientSecret": CLIENT_SECRET, "GitHubOAuthEnabled": "true",
                       "OidcClientId": CLIENT_ID, "OidcClientSecret": CLIENT_SECRET,
                       "OidcWellKnown": provider.base + "/.well-known/openid-configuration",
                       "OidcEnabled": "true"}.items():
        _option(root, key, value)
    page.goto(appliance + "/login")
    expect(page.locator("#login-oidc")).to_be_visible()
    page.screenshot(path=str(SHOTS / "oneapi-login-providers.png"))

    me = _provider_login(page, appliance, "#login-github")
    assert me["github_id"] == "octocat" and me["display_name"] == "The Octocat"
    assert me["username"].startswith("github_") and me["email"] == "octo@example.com"
    expect(page.locator("#current-user")).to_have_text("The Octocat")
    page.screenshot(path=str(SHOTS / "oneapi-github-login.png"))
    page.locator("#logout").click()
    expect(page).to_have_url(appliance + "/login")
    for _ in range(300):  # the logout clears the cookie by a fetch from the page: wait for it (else: a binding)
        if not page.request.get(appliance + "/api/user/self").json()["success"]:
            break
        page.wait_for_timeout(100)
    again = _provider_login(page, appliance, "#login-github")
    assert again["id"] == me["id"]  # the same account, not a new one
    context.close()

    context, page = _page(browser)
    me = _provider_login(page, appliance, "#login-oidc")
    assert me["oidc_id"] == "sub-42" and me["username"] == "olivia"
    context.close()

    # a logged-in user who goes through the flow binds the external account instead (Account's "bind")
    _ok(root.post("/api/user/", json={"username": "frank", "password": "frank-pass-1"}))
    provider.user = {"login": "frank-gh", "name": "Frank", "email": ""}
    context, page = _page(browser)
    log_in(page, appliance, "frank", "frank-pass-1")
    page.goto(appliance + "/api/oauth/github/authorize")
    expect(page.locator("#oauth-notice")).to_contain_text("bound to frank")
    assert page.request.get(appliance + "/api/user/self").json()["data"]["github_id"] == "frank-gh"
    context.close()

    # a callback without the state this browser stored is refused on the page
    context, page = _page(browser)
    page.goto(appliance + "/oauth/github?code=abc&state=forged123456")
    expect(page.locator("#oauth-error")).to_contain_text("state")
    expect(page.locator("#login-link")).to_be_visible()
    context.close()
    _option(root, "GitHubOAuthEnabled", "false")
    _option(root, "OidcEnabled", "false")
    root.close()


def test_common_user_opening_an_admin_page_is_told_why(appliance, browser):  # noqa: F811
    root = _root(appliance)
    _ok(root.post("/api/user/", json={"username": "dave", "password": "dave-pass-1"}))
    _ok(root.post("/api/user/", json={"username": "erin", "password": "erin-pass-1"}))
    _ok(root.put("/api/user/", json={"id": _user(root, "erin")["id"], "role": 10}))
    root.close()

    # a visitor: the login form says why, and logging in as an admin returns to the page
    context, page = _page(browser)
    page.goto(appliance + "/channel")
    expect(page).to_have_url(appliance + "/login")
    expect(page.locator("#login-guard")).to_contain_text("Log in to open this page.")
    page.locator("#username").fill("erin")
    page.locator("#password").fill("erin-pass-1")
    page.locator("#login-submit").click()
    expect(page).to_have_url(re.compile(re.escape(appliance) + r"/channel/?$"))
    expect(page.locator("#current-user")).to_have_text("erin")
    context.close()

    # a common user: told the page is for administrators
    context, page = _page(browser)
    log_in(page, appliance, "dave", "dave-pass-1")
    expect(page.locator("#login-guard")).to_have_count(0)
    page.goto(appliance + "/channel")
    expect(page).to_have_url(appliance + "/login")
    expect(page.locator("#login-guard")).to_contain_text("for administrators only")
    expect(page.locator("#login-guard")).to_contain_text("logged in as dave")
    expect(page.locator("#current-user")).to_have_text("dave")
    page.screenshot(path=str(SHOTS / "oneapi-admin-page-guard.png"))
    # the message is for that redirect only
    page.goto(appliance + "/login")
    expect(page.locator("#login-submit")).to_be_visible()
    expect(page.locator("#login-guard")).to_have_count(0)
    context.close()


def test_default_password_warning(appliance, browser):  # noqa: F811
    """Last in this module: it changes root's password."""
    context, page = _page(browser)
    log_in(page, appliance)
    expect(page.locator("#default-password-warning")).to_be_visible()
    page.screenshot(path=str(SHOTS / "oneapi-default-password.png"))
    page.locator("#sidebar").get_by_text("Tokens").click()
    expect(page.locator("#default-password-warning")).to_be_visible()  # on every page until changed
    page.locator("#default-password-link").click()
    expect(page).to_have_url(appliance + "/account")
    page.locator("#account-password").fill("root-pass-new1")
    page.locator("#account-password2").fill("root-pass-new1")
    page.locator("#account-save").click()
    expect(page.locator("#default-password-warning")).to_have_count(0)
    context.close()
