"""The fault suite shares the relay suite's fixtures (the gateway on a real server, the fake upstream)."""

from __future__ import annotations

from tests.relay.conftest import gateway, upstream  # noqa: F401 - fixtures used by this suite's tests
