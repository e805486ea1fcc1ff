"""Password hashing with bcrypt (one-api's cost 10, so its hashes verify as they are)."""

import bcrypt

COST = 10
# A real hash to compare against when the user does not exist, so a wrong username costs the same time.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(COST))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(COST)).decode("ascii")


def verify_password(password: str, hashed: str | None) -> bool:
    """Constant-time check; also spends the bcrypt time when there is no hash to check against."""
    candidate = password.encode("utf-8")[:72]
    if not hashed:
        bcrypt.checkpw(candidate, _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(candidate, hashed.encode("ascii"))
    except ValueError:
        bcrypt.checkpw(candidate, _DUMMY_HASH)
        return False
