"""Key formats of one-api: token keys, access tokens, redemption codes, affiliate codes."""

import secrets
import string
import uuid

_ALNUM = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def uuid_hex() -> str:
    """32 lowercase hex characters (access tokens, redemption keys)."""
    return uuid.uuid4().hex


def token_key() -> str:
    """48 characters: 16 random alphanumerics + a UUID's hex with letters at even positions upper-cased."""
    hex_part = "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(uuid.uuid4().hex))
    return random_string(16) + hex_part


def aff_code() -> str:
    return random_string(4)
