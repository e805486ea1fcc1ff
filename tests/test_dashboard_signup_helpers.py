"""What the dashboard's sign-in pages share with /api without a browser: the caller's address from the
websocket's headers (TRUSTED_PROXIES' rule), one critical rate-limit window per address for both front doors,
and the Turnstile check."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from oneapi_app import netaddr
from oneapi_app.auth import turnstile
from oneapi_app.auth.ratelimit import critical_limiter
from oneapi_app.errors import AppError
from oneapi_app.pages.public_checks import address, render_turnstile_js
from oneapi_app.services import accounts

from .api.conftest import ROOT_ACCESS_TOKEN, set_option

LOCAL = netaddr.parse_networks("127.0.0.1,::1")


@pytest.fixture
def settings(make_settings):
    return make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN)


def test_address_believes_forwarded_headers_only_from_trusted_proxies():
    forwarded = {"x-forwarded-for": "198.51.100.7, 203.0.113.5"}
    assert address({"asgi-scope-client": "127.0.0.1"} | forwarded, LOCAL) == "203.0.113.5"
    assert address({"asgi-scope-client": "192.0.2.1"} | forwarded, LOCAL) == "192.0.2.1"
    assert address({"asgi-scope-client": "127.0.0.1", "x-real-ip": "203.0.113.8"}, LOCAL) == "203.0.113.8"
    assert address({"asgi-scope-client": "127.0.0.1"} | forwarded, ()) == "127.0.0.1"


async def test_the_dashboard_and_api_count_in_one_window(client, runtime):
    """The pages count their calls in the limiter /api uses: an address that used up its window on the pages
    is refused by /api/user/register too."""
    limiter = critical_limiter(runtime)
    assert critical_limiter(runtime) is limiter
    for _ in range(runtime.settings.critical_rate_limit):
        assert await limiter.allow("CT", "203.0.113.77")
    r = await client.post("/api/user/register", json={"username": "eve", "password": "evepassword"},
                          headers={"X-Forwarded-For": "203.0.113.77"})
    assert r.status_code == 429


async def test_turnstile_check(client, runtime, monkeypatch):
    await turnstile.check(runtime, "")  # off: nothing asked
    await set_option(client, "TurnstileSiteKey", "site-key")
    await set_option(client, "TurnstileSecretKey", "secret-key")
    await set_option(client, "TurnstileCheckEnabled", "true")
    with pytest.raises(AppError, match="Turnstile token"):
        await turnstile.check(runtime, "")
    seen = []

    async def verify(http, secret, token, ip=""):
        seen.append((token, ip))
        return token == "good"

    monkeypatch.setattr(turnstile, "verify", verify)
    with pytest.raises(AppError, match="校验失败"):
        await turnstile.check(runtime, "bad", "192.0.2.1")
    await turnstile.check(runtime, "good", "192.0.2.1")
    assert seen == [("bad", "192.0.2.1"), ("good", "192.0.2.1")]


def test_turnstile_script_quotes_the_site_key():
    script = render_turnstile_js("0x4AAA'</script>")
    assert "sitekey:\"0x4AAA'</script>\"" in script and "turnstile.render" in script


def test_registration_closed_reasons():
    options = SimpleNamespace(RegisterEnabled=True, PasswordRegisterEnabled=True)
    assert accounts.registration_closed(options) == ""
    options.PasswordRegisterEnabled = False
    assert accounts.registration_closed(options) == accounts.PASSWORD_REGISTER_CLOSED
    options.RegisterEnabled = False
    assert accounts.registration_closed(options) == accounts.REGISTER_CLOSED
