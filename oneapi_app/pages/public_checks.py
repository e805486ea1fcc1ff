"""What the dashboard's public forms (register, password reset, the OAuth callback) check before they call the
services, as /api does with its dependencies: the caller's address (TRUSTED_PROXIES' rule, netaddr.py), the
critical rate limit shared with /api (one window per address, auth/ratelimit.py), and Cloudflare Turnstile
(auth/turnstile.py; a pass is remembered by the page's state for the tab, as /api remembers it in the cookie).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import netaddr
from ..appliance import runtime
from ..auth import turnstile
from ..auth.ratelimit import CRITICAL_WINDOW, critical_limiter
from ..errors import RateLimited

# The browser-side half of Turnstile: load Cloudflare's script once, render the widget into #turnstile-box
# (it adds the hidden ``cf-turnstile-response`` input the form submits), and read the token for buttons.
TURNSTILE_SCRIPT = "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit"
TOKEN_JS = "(window.turnstile && document.getElementById('turnstile-box')) ? (turnstile.getResponse() || '') : ''"
TOKEN_FIELD = "cf-turnstile-response"


def render_turnstile_js(site_key: str) -> str:
    """The script that shows the widget on a page that has a ``#turnstile-box``."""
    import json

    return (
        "(function(){const go=(n)=>{const el=document.getElementById('turnstile-box');"
        "if(!el||!window.turnstile){if(n<100)setTimeout(()=>go(n+1),100);return;}"
        f"if(!el.dataset.rendered){{el.dataset.rendered='1';turnstile.render(el,{{sitekey:{json.dumps(site_key)}}});}}}};"
        "if(!document.getElementById('cf-turnstile-js')){const s=document.createElement('script');"
        f"s.id='cf-turnstile-js';s.src={json.dumps(TURNSTILE_SCRIPT)};s.async=true;document.head.appendChild(s);}}"
        "go(0);})()"
    )


def address(headers: Mapping[str, str], trusted: Sequence[netaddr.Network]) -> str:
    """The browser's address from the websocket's headers as Reflex records them (the peer under
    ``asgi-scope-client``), by /api's rule: forwarded headers count only when that peer is a trusted proxy."""
    forwarded = [(name.encode("latin-1"), value.encode("latin-1")) for name in ("x-forwarded-for", "x-real-ip")
                 if (value := headers.get(name, ""))]
    return netaddr.client_ip({"client": (headers.get("asgi-scope-client", ""), 0), "headers": forwarded}, trusted)


def caller_ip(state: Any) -> str:
    return address(state.router.headers.raw_headers, runtime().settings.trusted_proxies) or \
        state.router.session.client_ip


async def check_rate(state: Any) -> None:
    """Count one critical call (login, register, mail, reset, OAuth) of this address; refuse past the limit."""
    if not await critical_limiter(runtime()).allow("CT", caller_ip(state)):
        raise RateLimited(CRITICAL_WINDOW)


async def check_rate_and_turnstile(state: Any, token: object) -> None:
    """What /api checks before a sign-up or a mail: the critical rate limit, then Turnstile."""
    await check_rate(state)
    await _check_turnstile(state, str(token or ""))


async def _check_turnstile(state: Any, token: str) -> None:
    """Refuse unless Turnstile is off, already passed in this tab (``state._turnstile_passed``) or ``token``
    verifies."""
    if getattr(state, "_turnstile_passed", False):
        return
    rt = runtime()
    await turnstile.check(rt, token, caller_ip(state))
    if rt.options.TurnstileCheckEnabled:
        state._turnstile_passed = True
