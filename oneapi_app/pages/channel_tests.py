"""The Channels page's tests: one channel with a model picked among its models, and "Test all" (or the disabled
ones) in the background with a live progress bar and the result of each channel.

A mixin of the page's state: the test-all run itself is the service's (``channel_checks.start_test_all``: one at a
time, shared by every admin and the periodic test); a Reflex background event follows its progress and copies it
into the page until it ends."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Role
from ..services import channel_checks, channels
from .common import error_text
from .state import SessionState
from .texts import lang_of, say

POLL_SECONDS = 0.4


def result_rows(results: list[dict]) -> list[dict[str, str]]:
    return [{"id": str(r["id"]), "name": r["name"], "ok": "1" if r["success"] else "",
             "time": f"{r['time']:.2f} s", "message": r["message"]} for r in results]


def summary(p: channel_checks.TestAllProgress, lang: str = "en") -> str:
    if p.running:
        return t("channels.running", lang, done=p.done, total=p.total)
    text = t("channels.finished", lang, total=p.done, ok=p.succeeded, failed=p.failed)
    if p.disabled:
        text += t("channels.disabled_ids", lang, ids=", #".join(map(str, p.disabled)))
    if p.enabled:
        text += t("channels.enabled_ids", lang, ids=", #".join(map(str, p.enabled)))
    return text


class ChannelTestsMixin(rx.State, mixin=True):
    last_test: str = ""
    busy: bool = False

    # the model picker of one channel's test
    test_id: int = 0
    test_models: list[str] = []
    test_model: str = ""

    # test all
    ta_visible: bool = False
    ta_running: bool = False
    ta_total: int = 0
    ta_done: int = 0
    ta_summary: str = ""
    ta_results: list[dict[str, str]] = []

    if TYPE_CHECKING:
        async def _reload(self) -> None: ...

    async def _is_admin(self) -> bool:
        return await (await self.get_state(SessionState))._fresh_user(Role.ADMIN) is not None

    # --- one channel ---------------------------------------------------------------------------------------

    async def _run_test(self, channel_id: int, model: str):
        self.busy = True
        yield
        lang = await lang_of(self)
        try:
            result = await channel_checks.test_channel(runtime(), channel_id, model)
        except Exception as exc:  # noqa: BLE001 - shown to the admin, never a stack trace
            self.busy = False
            self.last_test = t("channels.test_error", lang, id=channel_id,
                               message=error_text(exc, "channel test", lang))
            yield rx.toast.error(self.last_test)
            return
        self.busy = False
        self.last_test = t("channels.test_ok" if result.success else "channels.test_failed", lang, id=channel_id,
                           time=f"{result.time:.2f}", message=result.message[:300])
        await self._reload()
        yield (rx.toast.success if result.success else rx.toast.error)(self.last_test)

    @rx.event
    async def test(self, channel_id: str):
        """Test with the channel's default test model."""
        if not await self._is_admin():
            yield rx.toast.error(await say(self, "shell.admins_only"))
            return
        async for event in self._run_test(int(channel_id), ""):
            yield event

    @rx.event
    async def open_test(self, channel_id: str):
        if not await self._is_admin():
            return rx.toast.error(await say(self, "shell.admins_only"))
        try:
            async with runtime().db.session() as session:
                channel = await channels.get_channel(session, int(channel_id))
        except Exception as exc:  # noqa: BLE001
            return rx.toast.error(error_text(exc, "channel test", await lang_of(self)))
        self.test_id = channel.id or 0
        self.test_models = channels.split_list(channel.models)
        self.test_model = self.test_models[0] if self.test_models else ""

    @rx.event
    def set_test_model(self, value: str):
        self.test_model = str(value)

    @rx.event
    def close_test(self, value: bool = False):
        if not value:
            self.test_id = 0

    @rx.event
    async def run_test(self):
        if not await self._is_admin():
            yield rx.toast.error(await say(self, "shell.admins_only"))
            return
        channel_id, model = self.test_id, self.test_model
        self.test_id = 0
        async for event in self._run_test(channel_id, model):
            yield event

    # --- test all ------------------------------------------------------------------------------------------

    @rx.event
    async def test_all(self, scope: str):
        if not await self._is_admin():
            return rx.toast.error(await say(self, "shell.admins_only"))
        try:
            channel_checks.start_test_all(runtime(), "disabled" if scope == "disabled" else "all")
        except Exception as exc:  # noqa: BLE001 - "already running": follow that run instead
            message = error_text(exc, "channel test all", await lang_of(self))
            if not channel_checks.progress(runtime()).running:
                return rx.toast.error(message)
        return type(self).follow_test_all

    @rx.event(background=True)
    async def follow_test_all(self):
        """Copy the running test's progress into the page until it ends (then reload the table)."""
        async with self:
            if not await self._is_admin():
                return
            self.ta_visible = True
            lang = await lang_of(self)
        while True:
            p = channel_checks.progress(runtime())
            async with self:
                self.ta_running, self.ta_total, self.ta_done = p.running, p.total, p.done
                self.ta_summary = summary(p, lang)
                self.ta_results = result_rows(p.results)
                if not p.running:
                    await self._reload()
                    break
            await asyncio.sleep(POLL_SECONDS)

    @rx.event
    def hide_test_all(self):
        self.ta_visible = False

    @rx.var
    def ta_percent(self) -> int:
        return int(self.ta_done * 100 / self.ta_total) if self.ta_total else (0 if self.ta_running else 100)
