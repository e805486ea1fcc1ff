"""Usage statistics for the dashboard's Usage page and the model price table.

``usage`` sums the consume logs of the last N days (a user's own, or everyone's for admins) per UTC day, per
model, per token and per user, in a few grouped queries on the log database. ``model_prices`` lists the models a
user's group reaches (its enabled abilities) with their ratios and US-dollar prices (ratio 1 = $0.002 per 1K
tokens at QuotaPerUnit 500000; the group ratio applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..db import Database
from ..models import Ability, Channel, Log, LogType, now
from .options import Options
from .pricing import completion_ratio, group_ratio, model_ratio

DAY = 86400
TOP = 10


@dataclass
class Totals:
    requests: int = 0
    quota: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, requests: int, quota: int, prompt: int, completion: int) -> None:
        self.requests += requests
        self.quota += quota
        self.prompt_tokens += prompt
        self.completion_tokens += completion


@dataclass
class Usage:
    days: int
    per_day: list[tuple[str, Totals]]  # every day of the range, oldest first ("YYYY-MM-DD", UTC), zeros included
    per_model: list[tuple[str, Totals]]  # by quota, then requests, highest first
    per_token: list[tuple[str, Totals]]  # top TOP by quota
    per_user: list[tuple[str, Totals]]  # top TOP by quota (everyone's view only)
    today: Totals = field(default_factory=Totals)
    total: Totals = field(default_factory=Totals)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _ranked(table: dict[str, Totals], limit: int | None = None) -> list[tuple[str, Totals]]:
    ranked = sorted(table.items(), key=lambda item: (-item[1].quota, -item[1].requests, item[0]))
    return ranked[:limit] if limit else ranked


async def usage(db: Database, user_id: int | None, days: int = 7, at: int | None = None) -> Usage:
    """Consume logs of the last ``days`` UTC days including today, of ``user_id`` (None: everyone's)."""
    days = max(1, min(int(days), 366))
    current = now() if at is None else at
    today_start = current - current % DAY
    since = today_start - (days - 1) * DAY
    sums = (func.count(), func.sum(Log.quota), func.sum(Log.prompt_tokens), func.sum(Log.completion_tokens))

    def grouped(*keys):
        stmt = select(*keys, *sums).where(col(Log.type) == int(LogType.CONSUME), col(Log.created_at) >= since)  # type: ignore[call-overload]
        if user_id is not None:
            stmt = stmt.where(col(Log.user_id) == user_id)
        return stmt.group_by(*keys)

    day = (col(Log.created_at) - col(Log.created_at) % DAY).label("day")
    per_day = {_day(since + i * DAY): Totals() for i in range(days)}
    per_model: dict[str, Totals] = {}
    per_token: dict[str, Totals] = {}
    per_user: dict[str, Totals] = {}
    total, today = Totals(), Totals()
    async with db.log_session() as session:
        for d, model, count, quota, prompt, completion in (await session.exec(grouped(day, Log.model_name))).all():
            values = (int(count), int(quota or 0), int(prompt or 0), int(completion or 0))
            per_day.setdefault(_day(int(d)), Totals()).add(*values)
            per_model.setdefault(model or "-", Totals()).add(*values)
            total.add(*values)
            if int(d) >= today_start:
                today.add(*values)
        for name, count, quota, prompt, completion in (await session.exec(grouped(Log.token_name))).all():
            per_token.setdefault(name or "-", Totals()).add(int(count), int(quota or 0), int(prompt or 0),
                                                           int(completion or 0))
        if user_id is None:
            for name, count, quota, prompt, completion in (await session.exec(grouped(Log.username))).all():
                per_user.setdefault(name or "-", Totals()).add(int(count), int(quota or 0), int(prompt or 0),
                                                              int(completion or 0))
    return Usage(days=days, per_day=sorted(per_day.items()), per_model=_ranked(per_model),
                 per_token=_ranked(per_token, TOP), per_user=_ranked(per_user, TOP), today=today, total=total)


# --- the model price table -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelPrice:
    model: str
    channel_type: int
    model_ratio: float
    completion_ratio: float
    group_ratio: float

    @property
    def ratio(self) -> float:
        return self.model_ratio * self.group_ratio

    def usd_per_million(self, quota_per_unit: float, output: bool = False) -> float:
        """US dollars per 1M tokens: 1M tokens cost ratio x 1M quota (x completion ratio for output tokens)."""
        per_unit = quota_per_unit or 500000
        return self.ratio * (self.completion_ratio if output else 1) * 1_000_000 / per_unit


async def reachable_models(session: AsyncSession, group: str) -> dict[str, int]:
    """model -> the channel type serving it (its lowest-id enabled channel) for the enabled abilities of
    ``group``."""
    stmt = (select(Ability.model, Channel.type)  # type: ignore[call-overload]
            .join(Channel, col(Channel.id) == col(Ability.channel_id))
            .where(col(Ability.group) == group, col(Ability.enabled).is_(True))
            .order_by(col(Ability.model), col(Channel.id)))
    found: dict[str, int] = {}
    for model, type_id in (await session.exec(stmt)).all():
        found.setdefault(model, int(type_id or 0))
    return found


async def model_prices(session: AsyncSession, options: Options, group: str) -> list[ModelPrice]:
    """The price of every model ``group`` reaches, sorted by model name."""
    g = group_ratio(options, group or "default")
    return [ModelPrice(model, type_id, model_ratio(options, model, type_id), completion_ratio(options, model, type_id),
                       g)
            for model, type_id in sorted((await reachable_models(session, group or "default")).items())]
