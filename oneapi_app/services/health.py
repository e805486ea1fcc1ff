"""Channel health: automatic disabling and re-enabling of channels, and the notices and log rows they write.

Disabling (status 3, "auto-disabled"), only when the AutomaticDisableChannelEnabled option is on, for:

- one-api's error rules (catalog/auto_disable.py): an upstream failure that says the key is dead, while
  relaying or in a channel test;
- the failure-rate rule (ENABLE_METRIC): the relay records every attempt's outcome per channel in a queue
  of the last METRIC_QUEUE_SIZE results (in this process, as one-api); once the queue is full and its
  success rate is below METRIC_SUCCESS_RATE_THRESHOLD the channel is disabled and its queue starts afresh.

A channel whose config JSON says ``"never_auto_disable": true`` is never disabled automatically (the reason
is logged instead). Only an enabled channel is disabled: the UPDATE is conditional on status 1, so two nodes
or two failing requests disable it once and notify once.

Re-enabling (AutomaticEnableChannelEnabled): the periodic channel test (CHANNEL_TEST_FREQUENCY, run on one
node per period: oneapi_app/locks.py) re-tests every channel; an auto-disabled one that answers is enabled
again. A channel an admin disabled (status 2) is never enabled automatically.

Every automatic change writes a system log row (type 4) and notifies root (services/notify.py: the Message
Pusher webhook and the root user's email).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from sqlalchemy import update

from ..models import Ability, Channel, ChannelStatus, LogType, table_of
from .logs import record
from .notify import notify_root

if TYPE_CHECKING:
    from .cache import ChannelInfo

log = logging.getLogger(__name__)
NEVER_AUTO_DISABLE = "never_auto_disable"  # the channel config flag
NOTICE_TITLE = "渠道状态变更提醒"  # one-api's subject for channel status notices


def never_auto_disable(config: dict | None) -> bool:
    value = (config or {}).get(NEVER_AUTO_DISABLE)
    return value is True or value in (1, "true", "1")


class ChannelHealth:
    """Per process: the failure-rate queues of the channels and the status changes (the Runtime owns one)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self._results: dict[int, deque[bool]] = {}
        self._failures: dict[int, int] = {}
        self._disabling: set[int] = set()

    # -- the relay's hot path: one call per upstream attempt -----------------------------------------------
    def record(self, channel: ChannelInfo, ok: bool) -> None:
        """Note one attempt's outcome (ENABLE_METRIC); disables the channel in the background when the success
        rate of its last METRIC_QUEUE_SIZE attempts falls below METRIC_SUCCESS_RATE_THRESHOLD."""
        runtime = self.runtime
        if runtime.metrics is not None:
            runtime.metrics.attempt(channel.id, ok)
        settings = runtime.settings
        if not settings.enable_metric:
            return
        channel_id = channel.id
        results = self._results.get(channel_id)
        size = settings.metric_queue_size
        if results is None or results.maxlen != size:
            results = self._results[channel_id] = deque(maxlen=size)
            self._failures[channel_id] = 0
        failures = self._failures[channel_id]
        if len(results) == size and not results[0]:
            failures -= 1  # the oldest result leaves the queue
        results.append(ok)
        if not ok:
            failures += 1
        self._failures[channel_id] = failures
        if len(results) < size:
            return
        rate = 1 - failures / size
        if rate >= settings.metric_success_rate_threshold:
            return
        results.clear()
        self._failures[channel_id] = 0
        if not self.runtime.options.AutomaticDisableChannelEnabled or channel_id in self._disabling:
            return
        reason = f"最近 {size} 次请求成功率 {rate:.0%} 低于阈值 {settings.metric_success_rate_threshold:.0%}"
        self.disable_later(channel, reason)

    def success_rates(self) -> dict[int, float]:
        """Channel id -> success rate of the attempts in its queue (ENABLE_METRIC), for /metrics."""
        return {cid: 1 - self._failures.get(cid, 0) / len(q) for cid, q in self._results.items() if q}

    def disable_later(self, channel: ChannelInfo, reason: str) -> None:
        """Disable ``channel`` in the background (from the relay: the request does not wait for it)."""
        if channel.id in self._disabling or self.runtime.background.closing:
            return
        self._disabling.add(channel.id)

        async def run() -> None:
            try:
                await self.disable(channel.id, channel.name, channel.config, reason)
            finally:
                self._disabling.discard(channel.id)

        self.runtime.background.spawn(run(), name=f"auto-disable-channel-{channel.id}")

    # -- status changes ----------------------------------------------------------------------------------
    async def disable(self, channel_id: int, name: str, config: dict | None, reason: str) -> bool:
        """Enabled -> auto-disabled (3), with a system log row and a notice; False when nothing changed (the
        channel opted out, or was not enabled any more)."""
        label = f"「{name}」（#{channel_id}）"
        if never_auto_disable(config):
            log.warning("channel #%s (%s) would be disabled automatically but never_auto_disable is set: %s",
                        channel_id, name, reason[:200])
            return False
        if not await self._move(channel_id, ChannelStatus.ENABLED, ChannelStatus.AUTO_DISABLED):
            return False
        content = f"渠道{label}已被禁用，原因：{reason[:500]}"
        log.warning("channel #%s (%s) disabled automatically: %s", channel_id, name, reason[:200])
        await record(self.runtime.db, user_id=0, type=LogType.SYSTEM, channel_id=channel_id, content=content)
        await notify_root(self.runtime, NOTICE_TITLE, content)
        return True

    async def enable(self, channel_id: int, name: str) -> bool:
        """Auto-disabled (3) -> enabled; a channel disabled by hand (2) stays as it is."""
        if not await self._move(channel_id, ChannelStatus.AUTO_DISABLED, ChannelStatus.ENABLED):
            return False
        content = f"渠道「{name}」（#{channel_id}）已被启用"
        log.warning("channel #%s (%s) enabled again automatically", channel_id, name)
        await record(self.runtime.db, user_id=0, type=LogType.SYSTEM, channel_id=channel_id, content=content)
        await notify_root(self.runtime, NOTICE_TITLE, content)
        return True

    async def _move(self, channel_id: int, before: ChannelStatus, after: ChannelStatus) -> bool:
        c, a = table_of(Channel), table_of(Ability)
        async with self.runtime.db.engine.begin() as conn:
            moved = await conn.execute(update(c).where(c.c.id == channel_id, c.c.status == int(before))
                                       .values(status=int(after)))
            if not moved.rowcount:
                return False
            await conn.execute(update(a).where(a.c.channel_id == channel_id)
                               .values(enabled=after == ChannelStatus.ENABLED))
        await self.runtime.changes.publish("channels")
        return True
