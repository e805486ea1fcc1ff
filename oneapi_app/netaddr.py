"""The caller's address: one rule for /api (rate limits, Turnstile) and /v1 (token subnets).

Forwarded headers are believed only from the proxies an operator named (``TRUSTED_PROXIES``, default this
host: ``127.0.0.1,::1``). Behind trusted proxies, the address is the right-most ``X-Forwarded-For`` hop that
is not itself a trusted proxy: each proxy appends the address it saw, so hops to the left of the first
untrusted one are whatever the client chose to send. ``X-Real-IP`` is read when no ``X-Forwarded-For`` came.

Reads only the ASGI scope (``request.scope`` works), so both front doors and the fast lane can call it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_LENGTH = 64  # an address we cannot parse is still a rate-limit key: keep it short


def parse_networks(raw: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` -> networks. ValueError names the entry that is not an IP or CIDR."""
    networks = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address from a header hop or peer: brackets, ports and IPv4-mapped IPv6 forms normalised."""
    text = text.strip().strip('"')
    if text.startswith("["):  # [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(host: str, trusted: Sequence[Network]) -> bool:
    if isinstance(trusted, tuple):  # the settings' tuple: remembered (every request asks about its peer)
        return _is_trusted_cached(host, trusted)
    return _is_trusted(host, trusted)


def _is_trusted(host: str, trusted: Sequence[Network]) -> bool:
    address = _address(host)
    return address is not None and any(address.version == net.version and address in net for net in trusted)


_is_trusted_cached = functools.lru_cache(maxsize=4096)(_is_trusted)


def _headers(scope: Mapping[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def _hops(values: Iterable[str]) -> list[str]:
    return [hop.strip() for value in values for hop in value.split(",") if hop.strip()]


def client_ip(scope: Mapping[str, Any], trusted: Sequence[Network]) -> str:
    """The address this request came from, as far as the trusted proxies vouch for it."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not is_trusted(peer, trusted):
        return peer
    hops = _hops(_headers(scope, b"x-forwarded-for"))
    if not hops:
        real = _headers(scope, b"x-real-ip")
        return _clean(real[0]) if real and real[0].strip() else peer
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return _clean(hop)
    return _clean(hops[0])  # every hop is a trusted proxy: the farthest one


def _clean(hop: str) -> str:
    address = _address(hop)
    return str(address) if address is not None else hop.strip()[:MAX_LENGTH]
