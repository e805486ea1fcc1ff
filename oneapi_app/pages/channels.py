"""Channels (admins): the upstream provider keys. A table with search, test, enable/disable, edit, delete, balance,
and an editor dialog (batch create: one key per line -> one channel each).

Every handler re-checks that the logged-in user is an enabled admin; the writes are ``@writes`` handlers calling
the channel services with the request models /api/channel uses (the services hold the edit rules and announce
the change to the relay). Channel keys never reach the browser's state: the list has no key, and the editor's
key field is sent once with the form (empty on an edit = keep the stored key)."""

from __future__ import annotations

import json

import reflex as rx

from ..appliance import runtime
from ..errors import BadRequest
from ..i18n import msg, t
from ..models import ChannelStatus, Role
from ..models.schemas import ChannelCreate, ChannelEdit
from ..services import channel_checks, channels
from ..services.channel_registry import channel_types, default_models
from .actions import Write, writes
from .channel_config import field_values, merged_config, parse_config, pretty, type_details, type_options
from .channel_tests import ChannelTestsMixin
from .common import error_text, parse_whole
from .components.channel_editor import editor_dialog, test_all_panel, test_dialog
from .components.channel_table import channel_table
from .components.widgets import confirm_dialog, pager, search_toolbar
from .registry import page
from .texts import lang_of, say, tr

STATUS_LABELS = {0: "channels.unknown", 1: "common.enabled", 2: "common.disabled", 3: "channels.auto_disabled"}
# The editor's text fields (all but the key, which is never kept in state).
FIELDS = ("f_type", "f_name", "f_base_url", "f_models", "f_group", "f_mapping", "f_priority", "f_weight",
          "f_system_prompt", "f_custom_model")


def _models_short(models: str) -> str:
    items = channels.split_list(models)
    return ", ".join(items[:3]) + (f" (+{len(items) - 3})" if len(items) > 3 else "")


def _quota(used: int) -> str:
    return f"${used / 500_000:.2f}"


def _int(value: str, field: str) -> int:
    return parse_whole(str(value).strip() or "0", field)


class ChannelsState(ChannelTestsMixin, rx.State):
    rows: list[dict[str, str]] = []
    types: list[dict[str, str]] = []
    search: str = ""
    page_no: int = 0
    has_next: bool = False

    # editor
    editor_open: bool = False
    edit_id: int = 0
    error: str = ""
    f_type: str = "1"
    f_name: str = ""
    f_base_url: str = ""
    f_models: str = ""
    f_group: str = "default"
    f_mapping: str = ""
    f_priority: str = "0"
    f_weight: str = "0"
    f_system_prompt: str = ""
    f_custom_model: str = ""
    base_url_hint: str = ""
    # the type's own settings (channel-type registry): fields stored in the config JSON, the key's format
    key_hint: str = ""
    retired_note: str = ""
    type_fields: list[dict[str, str]] = []
    cfg: dict[str, str] = {}  # the non-secret fields' values (secret ones come with the form only)
    f_config: str = ""  # the raw config JSON (secrets blanked)
    config_error: str = ""
    _lang_code: str = "en"  # the user's language, for the texts made by sync handlers (type fields, config check)

    # confirmation dialog: "delete" (one channel) or "delete_disabled"
    confirm_action: str = ""
    confirm_id: int = 0
    confirm_text: str = ""

    # --- helpers -------------------------------------------------------------------------------------

    def _type_names(self) -> dict[int, str]:
        return {t["id"]: t["name"] for t in channel_types()}

    async def _reload(self) -> None:
        names = self._type_names()
        self._lang_code = lang = await lang_of(self)
        async with runtime().db.session() as session:
            if self.search.strip():
                found = await channels.search_channels(session, self.search)
                self.has_next = False
            else:
                found = await channels.list_channels(session, self.page_no)
                self.has_next = len(found) == channels.PAGE_SIZE
        self.rows = [{
            "id": str(c.id),
            "name": c.name,
            "type": names.get(c.type, f"#{c.type}"),
            "status": str(c.status),
            "status_label": t(STATUS_LABELS[c.status], lang) if c.status in STATUS_LABELS else str(c.status),
            "group": c.group or "",
            "models": _models_short(c.models),
            "models_full": c.models,
            "priority": str(c.priority or 0),
            "weight": str(c.weight or 0),
            "response_time": f"{c.response_time / 1000:.2f} s" if c.response_time else "-",
            "balance": f"${c.balance:.2f}" if c.balance_updated_time else "-",
            "used_quota": _quota(c.used_quota),
        } for c in found]

    def _set_type_hint(self) -> None:
        details = type_details(self.f_type, self._lang_code)
        self.base_url_hint, self.key_hint = details["base_url"], details["key_hint"]
        self.retired_note, self.type_fields = details["retired"], details["fields"]
        try:
            config = parse_config(self.f_config)
        except ValueError:
            config = {}
        self.cfg = {**field_values(config, self.type_fields), **{k: v for k, v in self.cfg.items() if v}}

    # --- list ----------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        if not await self._is_admin():
            self.rows = []
            return
        self.types = type_options()
        await self._reload()
        if channel_checks.progress(runtime()).running:
            return type(self).follow_test_all

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        self.page_no = 0
        if await self._is_admin():
            await self._reload()

    @rx.event
    async def go_page(self, delta: int):
        if not await self._is_admin():
            return
        self.page_no = max(0, self.page_no + int(delta))
        await self._reload()

    @rx.event
    @writes(Role.ADMIN, action="channel page action")
    async def set_status(self, w: Write, channel_id: str, enable: bool):
        status = ChannelStatus.ENABLED if enable else ChannelStatus.MANUALLY_DISABLED
        await channels.set_channel_status(w.session, int(channel_id), status, bus=w.bus)
        await self._reload()
        return rx.toast.success(await say(self, "channels.enabled_n" if enable else "channels.disabled_n", id=channel_id))

    @rx.event
    @writes(Role.ADMIN, action="channel page action")
    async def refresh_balance(self, w: Write, channel_id: str):
        try:
            balance = await channel_checks.update_balance(w.runtime, int(channel_id))
        except Exception as exc:  # noqa: BLE001
            lang = await lang_of(self)
            return rx.toast.error(t("channels.balance_failed", lang, id=channel_id,
                                    message=error_text(exc, "channel page action", lang)))
        await self._reload()
        return rx.toast.success(await say(self, "channels.balance", id=channel_id, balance=f"{balance:.2f}"))

    @rx.event
    @writes(Role.ADMIN, action="channel page action")
    async def set_priority(self, w: Write, channel_id: str, value: str):
        """Inline priority edit (on blur)."""
        priority = _int(value, "priority")
        edit = ChannelEdit.model_validate({"id": int(channel_id), "priority": priority})
        channel = await channels.get_channel(w.session, edit.id)
        if (channel.priority or 0) == priority:
            return
        await channels.update_channel(w.session, edit.id, edit, bus=w.bus)
        await self._reload()
        return rx.toast.success(await say(self, "channels.priority_set", id=channel_id, priority=priority))

    # --- confirmations -------------------------------------------------------------------------------

    @rx.event
    async def ask_delete(self, channel_id: str, name: str):
        if not await self._is_admin():
            return
        self.confirm_action, self.confirm_id = "delete", int(channel_id)
        self.confirm_text = await say(self, "channels.ask_delete", id=channel_id, name=name)

    @rx.event
    async def ask_delete_disabled(self):
        if not await self._is_admin():
            return
        self.confirm_action, self.confirm_id = "delete_disabled", 0
        self.confirm_text = await say(self, "channels.ask_delete_disabled")

    @rx.event
    def cancel_confirm(self):
        self.confirm_action, self.confirm_id, self.confirm_text = "", 0, ""

    @rx.event
    @writes(Role.ADMIN, action="channel page action")
    async def confirm(self, w: Write):
        action, channel_id = self.confirm_action, self.confirm_id
        self.cancel_confirm()  # type: ignore[operator]  # a Reflex event handler, called as a method
        if action == "delete":
            await channels.delete_channel(w.session, channel_id, bus=w.bus)
            message = await say(self, "channels.deleted_n", id=channel_id)
        elif action == "delete_disabled":
            count = await channels.delete_disabled_channels(w.session, bus=w.bus)
            message = await say(self, "channels.deleted_disabled", count=count)
        else:
            return
        await self._reload()
        return rx.toast.success(message)

    # --- editor --------------------------------------------------------------------------------------

    @rx.event
    def set_field(self, field: str, value: str):
        if field in FIELDS:
            setattr(self, field, str(value))
            if field == "f_type":
                self._set_type_hint()

    @rx.event
    def set_editor_open(self, value: bool):
        self.editor_open = bool(value)
        if not value:
            self.error = ""

    @rx.event
    async def fill_models(self, which: str):
        if not await self._is_admin():
            return
        catalog = default_models()
        if which == "all":
            models = sorted({m for names in catalog.values() for m in names})
        else:
            models = catalog.get(self.f_type, [])
        self.f_models = ",".join(models)

    @rx.event
    def clear_models(self):
        self.f_models = ""

    @rx.event
    def add_custom_model(self):
        names = channels.split_list(self.f_custom_model)
        if names:
            self.f_models = ",".join(channels.split_list(",".join([self.f_models, *names])))
        self.f_custom_model = ""

    @rx.event
    def set_cfg(self, key: str, value: str):
        """A per-type field typed: kept in ``cfg`` and written into the raw JSON (when that is valid)."""
        if key not in {f["key"] for f in self.type_fields if not f["secret"]}:
            return
        self.cfg = {**self.cfg, key: str(value)}
        try:
            config = parse_config(self.f_config)
        except ValueError:
            return
        if str(value).strip():
            config[key] = str(value).strip()
        else:
            config.pop(key, None)
        self.f_config = json.dumps(config, ensure_ascii=False, indent=2) if config else ""

    @rx.event
    def set_config_raw(self, value: str):
        """The raw JSON editor: validated as typed; a valid object fills the per-type fields."""
        self.f_config = str(value)
        try:
            config = parse_config(self.f_config)
        except ValueError as exc:
            self.config_error = error_text(exc, "channel config", self._lang_code)
            return
        self.config_error = ""
        self.cfg = field_values(config, self.type_fields)

    @rx.event
    async def open_add(self):
        if not await self._is_admin():
            return rx.toast.error(await say(self, "shell.admins_only"))
        self.edit_id, self.error = 0, ""
        self.f_type, self.f_name, self.f_base_url, self.f_models = "1", "", "", ""
        self.f_group, self.f_mapping, self.f_priority, self.f_weight, self.f_system_prompt = "default", "", "0", "0", ""
        self.f_config, self.cfg, self.config_error, self.f_custom_model = "", {}, "", ""
        self._lang_code = await lang_of(self)
        self._set_type_hint()
        self.editor_open = True

    @rx.event
    async def open_edit(self, channel_id: str):
        if not await self._is_admin():
            return rx.toast.error(await say(self, "shell.admins_only"))
        try:
            async with runtime().db.session() as session:
                c = await channels.get_channel(session, int(channel_id))
        except Exception as exc:  # noqa: BLE001
            return rx.toast.error(error_text(exc, "channel page action", await lang_of(self)))
        self.edit_id, self.error = c.id or 0, ""
        self.f_type, self.f_name, self.f_base_url, self.f_models = str(c.type), c.name, c.base_url or "", c.models
        self.f_group, self.f_mapping = c.group or "default", c.model_mapping or ""
        self.f_priority, self.f_weight, self.f_system_prompt = str(c.priority or 0), str(c.weight or 0), c.system_prompt or ""
        self.f_config, self.cfg, self.config_error, self.f_custom_model = pretty(channels.redact_config(c.config)), {}, "", ""
        self._lang_code = await lang_of(self)
        self._set_type_hint()
        self.editor_open = True

    @rx.event
    @writes(Role.ADMIN, error="error", action="channel page action")
    async def save(self, w: Write, form: dict):
        """The editor's submit. The key and the secret config fields come from the form only (never in state)."""
        if not self.f_name.strip():
            raise BadRequest(msg("channel.empty_name"))
        secrets = {f["key"]: str(form.get("cfg_" + f["key"], "")) for f in self.type_fields if f["secret"]}
        config = merged_config(self.f_config, self.type_fields, self.cfg, secrets)
        data = {"type": _int(self.f_type, "type"), "name": self.f_name.strip(), "base_url": self.f_base_url.strip(),
                "models": self.f_models, "group": self.f_group.strip(), "model_mapping": self.f_mapping.strip(),
                "system_prompt": self.f_system_prompt, "priority": _int(self.f_priority, "priority"),
                "weight": _int(self.f_weight, "weight"), "key": str(form.get("key", "")), "config": config}
        if self.edit_id:  # as PUT /api/channel/ (an empty key, name, models... keeps the stored value)
            edit = ChannelEdit.model_validate({**data, "id": self.edit_id})
            await channels.update_channel(w.session, edit.id, edit, bus=w.bus)
            message = await say(self, "channels.saved", id=self.edit_id)
        else:  # as POST /api/channel/
            new = ChannelCreate.model_validate({**data, "system_prompt": data["system_prompt"] or None})
            created = await channels.create_channels(w.session, new, bus=w.bus)
            message = await say(self, "channels.created", count=len(created))
        self.error, self.editor_open, self.f_config, self.cfg = "", False, "", {}
        await self._reload()
        return rx.toast.success(message)


# --- the page ----------------------------------------------------------------------------------------

@page("/channel", "page.channels", nav="page.channels", icon="network", min_role=Role.ADMIN, on_load=(ChannelsState.load,))
def channels_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.channels"), size="5"),
        search_toolbar(
            ChannelsState.search, ChannelsState.set_search, "channel-search", tr("channels.search"), "260px",
            rx.button(rx.icon("plus", size=14), tr("channels.add"), on_click=ChannelsState.open_add, id="channel-add"),
            rx.button(tr("channels.test_all"), variant="soft", id="channel-test-all", disabled=ChannelsState.ta_running,
                      on_click=ChannelsState.test_all("all")),  # type: ignore[operator]  # a Reflex event handler
            rx.button(tr("channels.test_disabled"), variant="soft", id="channel-test-disabled", disabled=ChannelsState.ta_running,
                      on_click=ChannelsState.test_all("disabled")),  # type: ignore[operator]
            rx.button(tr("channels.delete_disabled"), variant="soft", color_scheme="red", on_click=ChannelsState.ask_delete_disabled,
                      id="channel-delete-disabled"),
        ),
        rx.cond(ChannelsState.last_test != "", rx.callout(ChannelsState.last_test, icon="activity", size="1",
                                                          id="channel-test-result", width="100%")),
        test_all_panel(ChannelsState),
        rx.box(channel_table(ChannelsState), width="100%", overflow_x="auto"),
        pager(ChannelsState, "channel"),
        editor_dialog(ChannelsState),
        test_dialog(ChannelsState),
        confirm_dialog(tr("channels.confirm"), ChannelsState.confirm_text, ChannelsState.confirm_action != "",
                       ChannelsState.cancel_confirm, ChannelsState.confirm, "channel-confirm-cancel", "channel-confirm"),
        spacing="3",
        width="100%",
    )
