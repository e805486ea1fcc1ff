"""One-api's auto-disable rules: which upstream errors mean the channel's key is dead, not just the request.

One pure function, read by the relay (an upstream failure while relaying) and by the channel tests (a failed
test request); whether a channel is then disabled depends on the AutomaticDisableChannelEnabled option.
"""

from __future__ import annotations

DISABLE_TYPES = frozenset({"insufficient_quota", "authentication_error", "permission_error", "forbidden"})
DISABLE_CODES = frozenset({"invalid_api_key", "account_deactivated"})
DISABLE_PHRASES = ("your access was terminated", "violation of our policies", "your credit balance is too low",
                   "organization has been disabled", "credit", "balance", "permission denied",
                   "organization has been restricted", "api key not valid", "api key expired", "已欠费")


def disables_channel(status: int, error_type: str, error_code: str, message: str) -> bool:
    """True when an upstream error of this HTTP status, OpenAI error ``type`` and ``code`` and message
    says the channel's key no longer works (401, quota or account gone, key invalid: spec section 2)."""
    if status == 401 or error_type in DISABLE_TYPES or error_code in DISABLE_CODES:
        return True
    lowered = message.lower()
    return any(phrase in lowered for phrase in DISABLE_PHRASES)
