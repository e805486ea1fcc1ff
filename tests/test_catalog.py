"""The provider catalogue below the relay and the services: one auto-disable rule for both."""

from __future__ import annotations

import pytest

from oneapi_app.catalog.auto_disable import disables_channel
from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.upstream import should_disable_channel
from oneapi_app.services import channel_checks


@pytest.mark.parametrize(("status", "kind", "code", "message", "disable"), [
    (401, "", "", "whatever", True),
    (400, "insufficient_quota", "", "x", True),
    (400, "", "invalid_api_key", "x", True),
    (403, "", "", "Your credit balance is too low", True),
    (400, "", "", "API key expired. Please renew", True),
    (429, "rate_limit_error", "rate_limited", "slow down", False),
    (500, "upstream_error", "", "internal error", False),
])
def test_one_rule_for_the_relay_and_the_channel_test(status, kind, code, message, disable):
    assert disables_channel(status, kind, code, message) is disable
    failure = UpstreamFailure(message, status=status, retryable=False, body={"message": message, "type": kind,
                                                                            "code": code})
    assert should_disable_channel(failure) is disable
    assert channel_checks.TestResult(False, message, 1.0, status, kind, code).should_disable() is disable
    assert not channel_checks.TestResult(True, message, 1.0, status, kind, code).should_disable()


def test_the_catalogue_imports_nothing_of_the_app():
    import ast
    from pathlib import Path

    from oneapi_app import catalog

    for path in Path(catalog.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 and not (node.module or "").startswith("oneapi_app"), path  # siblings only
