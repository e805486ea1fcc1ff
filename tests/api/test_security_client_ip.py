"""One client-IP rule (oneapi_app/netaddr.py) for /api and /v1: forwarded headers are believed only from
TRUSTED_PROXIES (default this host), and the address is the right-most hop that is not a trusted proxy."""

from __future__ import annotations

import httpx
import pytest

from oneapi_app.netaddr import client_ip, parse_networks
from oneapi_app.settings import SettingsError

from .conftest import ROOT

LOCAL = parse_networks("127.0.0.1,::1")


def scope(peer: str, **headers: str) -> dict:
    return {"client": (peer, 1234),
            "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]}


def test_the_rule():
    spoof = {"x_forwarded_for": "203.0.113.1"}
    assert client_ip(scope("127.0.0.2", **spoof), LOCAL) == "127.0.0.2"  # not a configured proxy
    assert client_ip(scope("10.1.2.3", **spoof), LOCAL) == "10.1.2.3"  # private is not trusted by itself
    assert client_ip(scope("127.0.0.1", **spoof), LOCAL) == "203.0.113.1"
    assert client_ip(scope("::1", **spoof), LOCAL) == "203.0.113.1"
    assert client_ip(scope("::ffff:127.0.0.1", **spoof), LOCAL) == "203.0.113.1"
    # the client's own X-Forwarded-For comes first; the proxy appends what it saw: the right-most counts
    chain = {"x_forwarded_for": "6.6.6.6, 198.51.100.7"}
    assert client_ip(scope("127.0.0.1", **chain), LOCAL) == "198.51.100.7"
    # hops that are trusted proxies themselves are skipped
    two = parse_networks("127.0.0.1,10.0.0.0/8")
    assert client_ip(scope("127.0.0.1", x_forwarded_for="6.6.6.6, 198.51.100.7, 10.0.0.5"), two) == "198.51.100.7"
    assert client_ip(scope("127.0.0.1", x_forwarded_for="10.0.0.9, 10.0.0.5"), two) == "10.0.0.9"
    assert client_ip(scope("127.0.0.1", x_forwarded_for="198.51.100.7:5555"), LOCAL) == "198.51.100.7"
    assert client_ip(scope("127.0.0.1", x_real_ip="198.51.100.8"), LOCAL) == "198.51.100.8"
    assert client_ip(scope("127.0.0.1"), LOCAL) == "127.0.0.1"
    assert client_ip(scope("127.0.0.1", **spoof), ()) == "127.0.0.1"  # TRUSTED_PROXIES= (none)
    assert client_ip({"headers": []}, LOCAL) == ""


def test_the_setting(make_settings):
    assert make_settings().trusted_proxies == LOCAL
    assert [str(n) for n in make_settings(TRUSTED_PROXIES="10.0.0.0/8, 172.16.0.1").trusted_proxies] == \
        ["10.0.0.0/8", "172.16.0.1/32"]
    assert make_settings(TRUSTED_PROXIES="").trusted_proxies == ()
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES: 'proxy.lan' is not an IP"):
        make_settings(TRUSTED_PROXIES="127.0.0.1,proxy.lan")


def _client(runtime, peer: str) -> httpx.AsyncClient:
    from oneapi_app.api import create_app

    return httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime), client=(peer, 4000)),
                             base_url="http://t")


async def test_spoofed_forwarded_for_from_an_untrusted_peer_is_limited(runtime):
    """The issue's attack: 25 password guesses from 127.0.0.2 (a LAN or Docker proxy) with a new
    X-Forwarded-For each time. CRITICAL_RATE_LIMIT (20) of them pass, the rest are refused."""
    assert runtime.settings.critical_rate_limit == 20
    async with _client(runtime, "127.0.0.2") as c:
        codes = [(await c.post("/api/user/login", json={"username": "root", "password": f"guess{i}"},
                               headers={"X-Forwarded-For": f"198.51.100.{i}"})).status_code for i in range(25)]
    assert codes == [200] * 20 + [429] * 5


async def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_counts(runtime):
    async with _client(runtime, "127.0.0.1") as c:
        async def login(forwarded: str) -> int:
            return (await c.post("/api/user/login", json={"username": "x", "password": "y"},
                                 headers={"X-Forwarded-For": forwarded})).status_code

        codes = [await login(f"10.9.9.{i}, 203.0.113.50") for i in range(21)]  # client-chosen left part varies
        assert codes == [200] * 20 + [429]
        assert await login("203.0.113.50, 203.0.113.51") == 200  # another client behind the proxy


async def _token(client, subnet: str) -> str:
    r = await client.post("/api/token/", json={"name": "net", "remain_quota": 1000, "expired_time": -1,
                                               "subnet": subnet}, headers=ROOT)
    return r.json()["data"]["key"]


@pytest.mark.parametrize(("peer", "forwarded", "allowed"), [
    ("127.0.0.2", "198.51.100.5", False),  # spoofed from an untrusted peer: the peer counts
    ("127.0.0.1", "198.51.100.5", True),  # from the trusted proxy: the forwarded client counts
    ("127.0.0.1", "198.51.100.5, 203.0.113.9", False),  # the right-most untrusted hop, not the left-most
    ("198.51.100.6", "", True),  # a direct client inside the subnet
])
async def test_token_subnets_use_the_same_rule(client, runtime, peer, forwarded, allowed):
    key = await _token(client, "198.51.100.0/24")
    headers = {"Authorization": f"Bearer sk-{key}"} | ({"X-Forwarded-For": forwarded} if forwarded else {})
    async with _client(runtime, peer) as c:
        r = await c.get("/v1/models", headers=headers)
        chat = await c.post("/v1/chat/completions", headers=headers,
                            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    for answer in (r, chat):  # the routes and the fast lane
        refused = answer.status_code == 403 and "指定网段" in answer.text
        assert refused != allowed, (answer.status_code, answer.text)


def test_one_rule_for_both_front_doors():
    from oneapi_app import netaddr
    from oneapi_app.api import deps
    from oneapi_app.relay import auth as relay_auth

    assert relay_auth.client_ip is netaddr.client_ip
    assert not hasattr(deps, "client_ip") and not hasattr(deps, "_is_private")
