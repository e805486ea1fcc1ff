"""The login rate limit against the real `oneapi serve` process: the issue's attack (password guesses from
127.0.0.2, a stand-in for a LAN or Docker proxy, with a new X-Forwarded-For each time) is limited, and the
server adds no forwarded-header rule of its own (uvicorn's proxy headers are off: TRUSTED_PROXIES decides)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .servers import running_server

LIMIT = 5


def _guesses(base: str, source: str, count: int) -> list[int]:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=base, timeout=10) as c:
        return [c.post("/api/user/login", json={"username": "root", "password": f"guess{i}"},
                       headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(count)]


@pytest.mark.parametrize(("source", "trusted"), [
    ("127.0.0.2", None),  # not a configured proxy (the default trusts 127.0.0.1 and ::1 only)
    ("127.0.0.1", ""),  # TRUSTED_PROXIES empty: not even this host
])
def test_spoofed_forwarded_for_does_not_escape_the_login_limit(tmp_path: Path, source: str, trusted: str | None):
    env = {"CRITICAL_RATE_LIMIT": str(LIMIT)} | ({"TRUSTED_PROXIES": trusted} if trusted is not None else {})
    with running_server(tmp_path / "data", "--api-only", env=env) as (_proc, base, _log):
        assert _guesses(base, source, LIMIT + 3) == [200] * LIMIT + [429] * 3
