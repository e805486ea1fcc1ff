"""Channel test (one, or all in the background with visible progress) and upstream balance queries.

The test request itself (one-api's shape: a non-stream chat completion with TEST_PROMPT, sent through the
relay's adaptor of the channel's type) is the relay's ``relay/probe.py``, reached as ``runtime.probe_channel``
(services never import the relay); here its result is recorded, and auto-disables or re-enables the channel.
The balance query knows the types of one-api's list. Both write through the channel services.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary

import httpx
import orjson
from sqlmodel import col, select, update

from ..catalog.auto_disable import disables_channel
from ..errors import AppError, BalanceNotSupported, Refused
from ..i18n import msg
from ..models import Channel, ChannelStatus, LogType, now
from ..scrub import scrub_text
from .channel_registry import default_base_url
from .logs import record
from .notify import notify_root

log = logging.getLogger(__name__)


@dataclass
class TestResult:
    success: bool
    message: str
    time: float
    status: int = 0
    error_type: str = ""
    error_code: str = ""

    def should_disable(self) -> bool:
        return not self.success and disables_channel(self.status, self.error_type, self.error_code, self.message)


async def test_channel(runtime, channel_id: int, asked_model: str = "") -> TestResult:
    """GET /api/channel/test/:id — test, store test_time and response_time, write a type-5 log (no billing)."""
    async with runtime.db.session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise Refused(msg("channel.not_found", id=channel_id))
        result, model = await runtime.probe_channel(channel, asked_model)
        await session.exec(update(Channel).where(col(Channel.id) == channel_id)  # type: ignore[call-overload]
                           .values(test_time=now(), response_time=int(result.time * 1000) if result.success else 0))
        await session.commit()
    await record(runtime.db, user_id=0, type=LogType.TEST, channel_id=channel_id, model_name=model,
                 elapsed_time=int(result.time * 1000),
                 content=f"渠道 #{channel_id} 测试{'成功' if result.success else '失败'}：{result.message[:200]}")
    return result


# --- test all in the background -----------------------------------------------------------------------

@dataclass
class TestAllProgress:
    running: bool = False
    scope: str = "all"
    total: int = 0
    done: int = 0
    succeeded: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)
    enabled: list[int] = field(default_factory=list)
    started_at: int = 0
    finished_at: int = 0
    # one entry per channel tested: {id, name, success, time (s), message}
    results: list[dict] = field(default_factory=list)

    def snapshot(self) -> dict:
        return asdict(self)


_progress: WeakKeyDictionary = WeakKeyDictionary()


def progress(runtime) -> TestAllProgress:
    if runtime not in _progress:
        _progress[runtime] = TestAllProgress()
    return _progress[runtime]


def start_test_all(runtime, scope: str = "all") -> TestAllProgress:
    """Single-flight: a second start while one runs is refused (one-api: 测试已在运行中)."""
    if scope not in ("all", "disabled"):
        raise Refused(msg("channel.bad_scope"))
    state = progress(runtime)
    if state.running:
        raise Refused(msg("channel.test_running"))
    new = TestAllProgress(running=True, scope=scope, started_at=now())
    _progress[runtime] = new
    runtime.background.spawn(_test_all(runtime, new), name="channel-test-all")
    return new


async def periodic_test_all(runtime) -> None:
    """CHANNEL_TEST_FREQUENCY: test every channel (re-enabling the recovered ones), on one node per period
    (the lease of oneapi_app/locks.py), unless a test is already running here. Waits for the run's end."""
    if progress(runtime).running or runtime.background.closing:
        return
    period = runtime.settings.channel_test_frequency * 60

    async def run() -> None:
        state = TestAllProgress(running=True, scope="all", started_at=now())
        _progress[runtime] = state
        await _test_all(runtime, state)

    await runtime.locks.once_per("channel-test-all", period, run)


async def _test_all(runtime, state: TestAllProgress) -> None:
    try:
        async with runtime.db.session() as session:
            stmt = select(Channel.id)
            if state.scope == "disabled":
                stmt = stmt.where(col(Channel.status) != ChannelStatus.ENABLED)
            ids = list((await session.exec(stmt.order_by(col(Channel.id)))).all())
        state.total = len(ids)
        stopping = getattr(runtime.background, "stopping", None)
        for index, channel_id in enumerate(ids):
            if stopping is not None and stopping.is_set():
                break  # shutting down: leave the rest for the next run
            if index and runtime.settings.polling_interval:
                await asyncio.sleep(runtime.settings.polling_interval)
            await _test_one_in_all(runtime, state, channel_id)
            state.done += 1
    finally:
        state.running = False
        state.finished_at = now()


async def _test_one_in_all(runtime, state: TestAllProgress, channel_id: int) -> None:
    async with runtime.db.session() as session:
        channel = await session.get(Channel, channel_id)
    if channel is None:
        return
    was_enabled = channel.status == ChannelStatus.ENABLED
    try:
        result = await test_channel(runtime, channel_id)
    except Exception as exc:
        log.exception("testing channel %s failed", channel_id)
        state.failed += 1
        state.results.append({"id": channel_id, "name": channel.name, "success": False, "time": 0.0,
                              "message": scrub_text(str(exc))[:200]})
        return
    state.results.append({"id": channel_id, "name": channel.name, "success": result.success,
                          "time": round(result.time, 2), "message": scrub_text(result.message)[:200]})
    state.succeeded += result.success
    state.failed += not result.success
    options = runtime.options
    threshold = options.ChannelDisableThreshold
    too_slow = result.success and threshold and result.time > threshold
    label = f"「{channel.name}」（#{channel_id}）"
    health = runtime.health
    if was_enabled and options.AutomaticDisableChannelEnabled and (result.should_disable() or too_slow):
        reason = f"响应时间 {result.time:.2f}s 超过阈值 {threshold}s" if too_slow else result.message
        if await health.disable(channel_id, channel.name, _config(channel), reason):
            state.disabled.append(channel_id)
    elif was_enabled and too_slow:
        await notify_root(runtime, "渠道状态变更提醒",
                          f"渠道{label}测试超时（{result.time:.2f}s > {threshold}s），请手动处理")
    elif not was_enabled and result.success and options.AutomaticEnableChannelEnabled \
            and channel.status == ChannelStatus.AUTO_DISABLED and await health.enable(channel_id, channel.name):
        state.enabled.append(channel_id)  # unlike one-api, a channel an admin disabled by hand stays disabled


def _config(channel: Channel) -> dict:
    try:
        value = orjson.loads(channel.config or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# --- balance ----------------------------------------------------------------------------------------------

async def _get_json(http: httpx.AsyncClient, url: str, headers: dict) -> dict:
    try:
        reply = await http.get(url, headers=headers, timeout=30)
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise Refused(msg("channel.balance_failed", detail=f"{type(exc).__name__}: {exc}")) from None
    if reply.status_code != 200:
        raise Refused(msg("channel.balance_failed", detail=f"status code {reply.status_code}"))
    try:
        data = reply.json()
    except ValueError:
        raise Refused(msg("channel.balance_failed", detail="the upstream answer is not JSON")) from None
    if not isinstance(data, dict):
        raise Refused(msg("channel.balance_failed", detail="unexpected answer"))
    return data


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Refused(msg("channel.balance_failed", detail=f"unexpected value {value!r}")) from None


async def query_balance(http: httpx.AsyncClient, channel: Channel) -> float:
    """The upstream balance in USD (DeepSeek: as reported, CNY), per one-api's list of types."""
    bearer = {"Authorization": f"Bearer {channel.key}"}
    base = (channel.base_url or default_base_url(channel.type) or "").rstrip("/")
    t = channel.type
    if t in (1, 8):
        base = base or "https://api.openai.com"
        sub = await _get_json(http, f"{base}/v1/dashboard/billing/subscription", bearer)
        today = datetime.now(UTC).date()
        start = today.replace(day=1) if sub.get("has_payment_method") else today - timedelta(days=100)
        usage = await _get_json(http, f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={today}", bearer)
        return _number(sub.get("hard_limit_usd", 0)) - _number(usage.get("total_usage", 0)) / 100
    if t == 4:
        base = base or "https://api.closeai-proxy.xyz"
        data = await _get_json(http, f"{base}/dashboard/billing/credit_grants", bearer)
        return _number(data.get("total_available"))
    if t == 5:
        data = await _get_json(http, f"https://api.openai-sb.com/sb-api/user/status?api_key={channel.key}", {})
        return _number((data.get("data") or {}).get("credit"))
    if t == 10:
        data = await _get_json(http, "https://aiproxy.io/api/report/getUserOverview", {"Api-Key": channel.key})
        if not data.get("success", True):
            raise Refused(msg("channel.balance_failed", detail=data.get("message", "")))
        return _number((data.get("data") or {}).get("totalPoints"))
    if t in (12, 13):
        host = "api2gpt" if t == 12 else "aigc2d"
        data = await _get_json(http, f"https://api.{host}.com/dashboard/billing/credit_grants", bearer)
        return _number(data.get("total_remaining" if t == 12 else "total_available"))
    if t == 44:
        data = await _get_json(http, "https://api.siliconflow.cn/v1/user/info", bearer)
        return _number((data.get("data") or {}).get("totalBalance"))
    if t == 36:
        data = await _get_json(http, "https://api.deepseek.com/user/balance", bearer)
        infos = data.get("balance_infos") or []
        for info in infos:
            if info.get("currency") == "CNY":
                return _number(info.get("total_balance"))
        return _number(infos[0].get("total_balance")) if infos else 0.0
    if t == 20:
        data = await _get_json(http, "https://openrouter.ai/api/v1/credits", bearer)
        inner = data.get("data") or {}
        return _number(inner.get("total_credits")) - _number(inner.get("total_usage"))
    raise BalanceNotSupported(msg("channel.balance_not_supported"))


async def update_balance(runtime, channel_id: int) -> float:
    async with runtime.db.session() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise Refused(msg("channel.not_found", id=channel_id))
        try:
            balance = await query_balance(runtime.http, channel)
        except AppError as exc:  # the upstream's words (and URLs carrying the key) never reach the caller
            exc.message = scrub_text(exc.message, channel.key)
            exc.args = (exc.message,)
            raise
        await session.exec(update(Channel).where(col(Channel.id) == channel_id)  # type: ignore[call-overload]
                           .values(balance=balance, balance_updated_time=now()))
        await session.commit()
    return balance
