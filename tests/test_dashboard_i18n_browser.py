"""Every dashboard page in a real browser, logged in as root (so the admin pages render), in both languages and
on a desktop (1280x800) and a phone (390x844) screen:

- no page is wider than the phone's screen (``document.documentElement.scrollWidth <= 390``); below 768 px the
  navigation is a menu behind the header's button;
- switching the language changes the texts of every page: in Chinese no English text of the translation table
  is left, switching to English and back to Chinese gives the same page again;
- the Notice is rendered Markdown, the Footer option is shown (as safe Markdown) and the Logo option's image and
  the system name are in the header.

Screenshots of every page at both sizes go to tests/artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from oneapi_app import pages  # noqa: F401 - registers the pages
from oneapi_app.i18n import MESSAGES
from oneapi_app.pages.registry import PAGES

from .test_dashboard_browser import appliance, browser  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
EXTRA_ROUTES = ["/user/reset?email=root%40example.com&token=abc"]  # the reset link's page, with its query
# /user/reset is opened with a query instead (above); the OAuth callbacks are one page, /oauth/github shows it
SKIP_ROUTES = {"/user/reset", "/oauth/oidc", "/oauth/lark"}
# Pages whose own texts are still being moved into the table (branch dashfeat): their English texts are not yet
# looked for on the Chinese page. Empty this set once that branch is merged.
PENDING_CONVERSION: set[str] = set()
NOTICE = "Scheduled **maintenance** tonight"
FOOTER = 'Run by <a href="https://ops.example/">Example Ops</a> <script>alert(1)</script>'


def routes() -> list[str]:
    """Every registered page (new pages are picked up by themselves), then the extra ones."""
    return [spec.route for spec in PAGES if spec.route not in SKIP_ROUTES] + EXTRA_ROUTES


def _ok(response) -> dict:
    assert response.status == 200 and response.json()["success"], response.text()
    return response.json().get("data")


@pytest.fixture(scope="module")
def site(appliance, browser):  # noqa: F811
    """Root's options (Notice, Footer, Logo, system name) and some rows: a token and a top-up log."""
    context = browser.new_context()
    rq = context.request
    _ok(rq.post(appliance + "/api/user/login", data={"username": "root", "password": "123456"}))
    for key, value in (("Notice", NOTICE), ("Footer", FOOTER), ("Logo", "/favicon.ico"), ("SystemName", "Lab API")):
        _ok(rq.put(appliance + "/api/option/", data={"key": key, "value": value}))
    _ok(rq.post(appliance + "/api/token/", data={"name": "phone-key", "remain_quota": 0, "unlimited_quota": True,
                                                  "expired_time": -1}))
    _ok(rq.post(appliance + "/api/topup", data={"user_id": 1, "quota": 1000, "remark": "i18n top-up"}))
    context.close()
    return appliance


def _open(page, base: str, route: str) -> None:
    page.goto(base + route)
    expect(page.locator("#current-user")).to_be_attached()  # hydrated, logged in
    _settled_body(page)  # the page's on_load fills it


def _settled_body(page, quiet: float = 0.4, timeout: float = 30) -> str:
    """The page's text once it has stopped changing for ``quiet`` seconds (on_load and websocket updates done,
    however slow a loaded machine makes them); bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    last, since = _body(page), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the page kept changing"
        page.wait_for_timeout(100)
        now = _body(page)
        if now != last:
            last, since = now, time.monotonic()
    return last


def _name(route: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", route.split("?")[0].lower()).strip("-") or "home"


def _ready_login_form(page, base: str) -> None:
    """The login page, rendered in the browser's language (a Chinese browser re-renders the prebuilt English
    page once hydrated: type only after that)."""
    page.goto(base + "/login")
    expect(page.locator("#lang-switch")).to_contain_text(re.compile("English|中文"))
    expect(page.locator("#login-submit")).to_have_text(re.compile("登录" if "zh" in page.evaluate(
        "navigator.language") else "Log in"))


def _log_in(page, base: str, password: str = "123456") -> None:
    _ready_login_form(page, base)
    page.locator("#username").fill("root")
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
    expect(page.locator("#current-user")).to_be_visible()
    for _ in range(300):  # the cookie hand-over is a fetch from the page: wait for its Set-Cookie
        if page.request.get(base + "/api/user/self").status == 200:
            break
        page.wait_for_timeout(100)
    expect(page).to_have_url(base + "/")
    page.wait_for_load_state()


def _logged_in_page(browser, base: str, locale: str = "en-US"):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20000)
    _log_in(page, base)
    return context, page


def test_every_page_fits_a_phone_and_a_desktop(site, browser):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _logged_in_page(browser, site)
    widths: dict[str, dict[str, int]] = {}
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for route in routes():
            _open(page, site, route)
            page.screenshot(path=str(SHOTS / f"{size}-{_name(route)}.png"), full_page=True)
            widths.setdefault(route, {})[size] = page.evaluate("document.documentElement.scrollWidth")
            sidebar_visible = page.locator("#sidebar").is_visible()
            assert sidebar_visible == (size == "1280"), (route, size)
            assert page.locator("#nav-menu-button").is_visible() == (size == "390"), (route, size)
    print("scrollWidth per page:", widths)
    too_wide = {route: w for route, w in widths.items() if w["390"] > PHONE["width"] or w["1280"] > DESKTOP["width"]}
    assert not too_wide, too_wide

    # the phone's menu: every entry of root's sidebar, and it navigates
    page.set_viewport_size(PHONE)
    _open(page, site, "/")
    page.locator("#nav-menu-button").click()
    items = page.locator(".nav-menu-item")
    expect(items).to_have_count(len([s for s in PAGES if s.nav_label]))
    items.filter(has_text="Logs").click()
    expect(page).to_have_url(site + "/log")
    expect(page.locator("#log-table")).to_be_visible()
    # a dialog fits the phone's screen
    _open(page, site, "/token")
    page.locator("#token-add").click()
    box = page.locator("#token-editor").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    page.screenshot(path=str(SHOTS / "390-token-editor.png"))
    page.keyboard.press("Escape")
    # Logs at 1280 px: the Detail column is on screen (the table fits without scrolling sideways)
    page.set_viewport_size(DESKTOP)
    _open(page, site, "/log")
    detail = page.locator("#log-table th").filter(has_text="Detail")
    expect(detail).to_be_in_viewport()
    box = detail.bounding_box()
    assert box is not None and box["x"] + box["width"] <= DESKTOP["width"]
    context.close()


def test_notice_footer_logo_and_system_name(site, browser):  # noqa: F811
    context, page = _logged_in_page(browser, site)
    _open(page, site, "/")
    expect(page.locator("#home-notice strong")).to_have_text("maintenance")  # Markdown, rendered
    expect(page.locator("#system-name")).to_have_text("Lab API")
    expect(page.locator("#logo")).to_have_attribute("src", "/favicon.ico")
    footer = page.locator("#footer")
    expect(footer).to_have_text("Run by Example Ops")  # the script's text is gone too
    expect(footer.locator("a")).to_have_attribute("href", "https://ops.example/")
    expect(footer.locator("script")).to_have_count(0)  # HTML is never run
    _open(page, site, "/token")
    expect(page.locator("#footer")).to_contain_text("Example Ops")  # on every page
    context.close()


def _english_only() -> list[str]:
    """English texts of the table that must not show on a Chinese page (those that differ from their Chinese,
    long enough not to be a word of the data)."""
    return sorted({v["en"] for v in MESSAGES.values()
                   if v["en"] != v["zh"] and "{" not in v["en"] and len(v["en"]) >= 5 and " " in v["en"]})


def _body(page) -> str:
    return page.locator("body").inner_text()


def test_language_switch_changes_every_page(site, browser):  # noqa: F811
    """Chinese by the browser's language; English and back by the switch (remembered by the browser)."""
    context, page = _logged_in_page(browser, site, locale="zh-CN")
    english = _english_only()
    for route in routes():
        _open(page, site, route)
        page.screenshot(path=str(SHOTS / f"zh-1280-{_name(route)}.png"), full_page=True)
        chinese_text = _body(page)
        left = [text for text in english if text in chinese_text]
        assert not left or route in PENDING_CONVERSION, (route, left)
        assert re.search(r"[\u4e00-\u9fff]", chinese_text), route
        assert route in PENDING_CONVERSION or re.search(r"[\u4e00-\u9fff]", page.title()), (route, page.title())
        page.locator("#lang-switch").click()
        expect(page.locator("#lang-switch")).to_contain_text("中文")
        english_text = _settled_body(page)
        assert english_text != chinese_text, route
        assert page.evaluate("localStorage.getItem('oneapi_lang')") == "en"
        page.locator("#lang-switch").click()
        expect(page.locator("#lang-switch")).to_contain_text("English")
        assert _settled_body(page) == chinese_text, route
    # remembered: a new page load stays in the chosen language (once the switch has stored the choice)
    page.locator("#lang-switch").click()
    expect(page.locator("#lang-switch")).to_contain_text("中文")
    page.wait_for_function("localStorage.getItem('oneapi_lang') === 'en'")
    _open(page, site, "/token")
    expect(page.get_by_role("heading", name="Tokens")).to_be_visible()
    expect(page).to_have_title("Tokens - One API")
    page.locator("#lang-switch").click()
    context.close()


def test_server_messages_in_the_users_language(site, browser):  # noqa: F811
    """A service error (the /api text of the same id) shown as a toast in the dashboard user's language."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    _ready_login_form(page, site)
    page.locator("#username").fill("root")
    page.locator("#password").fill("wrong-password")
    page.locator("#login-submit").click()
    expect(page.locator("#login-error")).to_have_text(MESSAGES["login.wrong"]["zh"])
    _log_in(page, site)
    _open(page, site, "/account")
    page.locator("#topup-code").fill("no-such-code")
    page.locator("#topup-submit").click()
    expect(page.locator("#topup-error")).to_have_text(MESSAGES["redemption.invalid"]["zh"])
    page.locator("#lang-switch").click()
    page.locator("#topup-submit").click()
    expect(page.locator("#topup-error")).to_have_text(MESSAGES["redemption.invalid"]["en"])
    context.close()
