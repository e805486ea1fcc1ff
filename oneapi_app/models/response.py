"""responses: the Responses API answers the gateway stores (``store`` not false) for ``previous_response_id``
and ``GET /v1/responses/{id}``, owned by the user whose token made them. Not one-api's (revision 0003).

``input`` holds every input item of the conversation up to this response (the replayed history of its
``previous_response_id`` followed by the request's own items), ``response`` the response object as the
client got it (its ``output`` items included): continuing it is one row read, whatever the chain's length.
"""

from sqlalchemy import BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from .types import LongText


class StoredResponse(SQLModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (Index("idx_responses_user_id", "user_id", "created_at"),)

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    token_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    model: str = Field(default="", sa_column=Column(String(191), nullable=False))
    created_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    input: str = Field(default="[]", sa_column=Column(LongText, nullable=False))  # JSON list of items
    response: str = Field(default="{}", sa_column=Column(LongText, nullable=False))  # JSON response object
