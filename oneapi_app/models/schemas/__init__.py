"""The request and response models of both front doors (/api and the dashboard), one family per entity:
``<Entity>Create`` / ``<Entity>Update`` (``<Entity>Edit`` = an update with its row id) / ``<Entity>Public``.

Public models never carry secrets (password hashes, access tokens, channel keys). The services take these
models and own the write rules; the routes and the page handlers only build them and call the services.
"""

from .account import Login, PasswordReset, Registration
from .channel import ChannelCreate, ChannelEdit, ChannelPublic, ChannelUpdate
from .common import MAX_ID, MAX_QUOTA, Body, NoNulls, PositiveQuota, Quota, RowId, given_fields
from .log import OWN_ROW_HIDDEN, LogPublic
from .option import OptionUpdate
from .redemption import MAX_BATCH, Redeem, RedemptionCreate, RedemptionEdit, RedemptionPublic, RedemptionUpdate
from .token import TokenCreate, TokenEdit, TokenPublic, TokenUpdate
from .user import SelfUpdate, TopUp, UserCreate, UserEdit, UserManage, UserPublic, UserUpdate

__all__ = [
    "MAX_BATCH", "MAX_ID", "MAX_QUOTA", "OWN_ROW_HIDDEN", "Body", "ChannelCreate", "ChannelEdit", "ChannelPublic",
    "ChannelUpdate", "LogPublic", "Login", "NoNulls", "OptionUpdate", "PasswordReset", "PositiveQuota", "Quota",
    "Redeem", "RedemptionCreate", "RedemptionEdit", "RedemptionPublic", "RedemptionUpdate", "Registration",
    "RowId", "SelfUpdate", "TokenCreate", "TokenEdit", "TokenPublic", "TokenUpdate", "TopUp", "UserCreate",
    "UserEdit", "UserManage", "UserPublic", "UserUpdate", "given_fields",
]
