"""Log rows as /api shows them (``LogPublic``): one-api's JSON names (``channel`` for the channel id), no
nulls; a user's own rows leave out the ids (``OWN_ROW_HIDDEN``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from .common import NoNulls

OWN_ROW_HIDDEN = frozenset({"id", "user_id", "channel"})


class LogPublic(NoNulls):
    id: int
    user_id: int = 0
    created_at: int = 0
    type: int = 0
    content: str = ""
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    quota: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    channel: int = Field(default=0, validation_alias=AliasChoices("channel_id", "channel"))
    request_id: str = ""
    elapsed_time: int = 0
    is_stream: bool = False
    system_prompt_reset: bool = False
