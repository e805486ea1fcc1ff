"""What every request model shares: bounded ids and quotas, and ``Body`` (unknown keys ignored, NUL refused,
null read as Go reads it); what every response model shares: ``NoNulls`` (a NULL column answers "" or 0).

Bad input is refused by these bounds before a service runs: with ``success: false`` and a clear message on
/api (the validation handler), as a toast on the dashboard (``pages.actions``)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

MAX_ID = 2**53 - 1
MAX_QUOTA = 2**53 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Quota = Annotated[int, Field(ge=0, le=MAX_QUOTA)]
PositiveQuota = Annotated[int, Field(ge=1, le=MAX_QUOTA)]


def _accepts_none(annotation: Any) -> bool:
    return annotation is None or annotation is type(None) or type(None) in get_args(annotation)


ZERO_VALUES: dict[Any, Any] = {str: "", int: 0, float: 0.0, bool: False}


class Body(BaseModel):
    """Request bodies ignore unknown keys (one-api's UI sends whole objects back), and read a JSON null as Go's
    encoding/json does: for a field that takes no null, null is as if the key were absent (the field's
    default), and a required field gets its zero value ("" / 0 / false), which its own bounds then judge. A
    null where null means something (an update's "keep") stays null; a wrong type is still refused."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_as_go_reads_it(cls, data: Any) -> Any:
        if not isinstance(data, dict) or None not in data.values():
            return data
        fields = cls.model_fields
        out = {}
        for key, value in data.items():
            field = fields.get(key) if isinstance(key, str) else None
            if value is None and field is not None and not _accepts_none(field.annotation):
                if not field.is_required():
                    continue
                value = ZERO_VALUES.get(field.annotation)  # other types: null stays, and is refused
            out[key] = value
        return out

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it up front everywhere.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


def _without_none(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


class NoNulls(BaseModel):
    """Response models: a NULL column reads as its zero value ("" / 0 / false), as One API's Go structs
    answer it, never as null (its web UIs call ``.split(',')`` on ``models``, ``JSON.parse`` on
    ``model_mapping``)."""

    @field_validator("*", mode="before")
    @classmethod
    def _null_as_zero(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name is not None:
            field = cls.model_fields[info.field_name]
            return ZERO_VALUES.get(_without_none(field.annotation), value)
        return value


def given_fields(data: BaseModel | dict, *, exclude: frozenset[str] = frozenset({"id"})) -> dict:
    """The fields a partial update was given (a dict passes as it is)."""
    if isinstance(data, BaseModel):
        return data.model_dump(exclude_unset=True, exclude=set(exclude))
    return dict(data)
