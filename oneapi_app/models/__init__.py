"""SQLModel tables with one-api's table and column names, so an existing one-api database opens as is.

The request/response models of /api and the dashboard live in ``models.schemas`` (re-exported here)."""

from sqlmodel import SQLModel

from .ability import Ability
from .channel import Channel, ChannelStatus
from .ledger import LedgerHold, LedgerInstance
from .lock import Lock
from .log import Log, LogType
from .option import Option
from .redemption import Redemption, RedemptionStatus
from .response import StoredResponse
from .schemas import (
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    TokenCreate,
    TokenPublic,
    TokenUpdate,
    UserPublic,
)
from .token import Token, TokenStatus
from .types import now, table_of
from .user import Role, User, UserStatus

metadata = SQLModel.metadata
# The logs table may live in its own database (LOG_SQL_DSN).
MAIN_TABLES = ("users", "tokens", "channels", "abilities", "redemptions", "options", "ledger_holds", "ledger_instances",
               "responses", "locks")
LOG_TABLES = ("logs",)
# The ledger's crash journal (alembic revision 0002); not one-api's, so adopting a one-api database skips them.
LEDGER_TABLES = ("ledger_holds", "ledger_instances", "locks")  # (+ the job leases of 0004_limits)
# The stored Responses API answers (alembic revision 0003_responses); not one-api's either.
RESPONSE_TABLES = ("responses",)

__all__ = [
    "LEDGER_TABLES", "LOG_TABLES", "MAIN_TABLES", "RESPONSE_TABLES", "Ability", "Channel", "ChannelCreate", "ChannelPublic",
    "ChannelStatus", "ChannelUpdate", "LedgerHold", "LedgerInstance", "Lock", "Log", "LogType", "Option", "Redemption",
    "RedemptionStatus", "Role", "StoredResponse", "Token", "TokenCreate", "TokenPublic", "TokenStatus",
    "TokenUpdate", "User",
    "UserPublic", "UserStatus", "metadata", "now", "table_of",
]
