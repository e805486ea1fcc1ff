"""Redemptions (admins): list/search/paginate the codes, add codes in batches (up to 100), enable/disable,
edit (name, quota), delete (confirm).

Every write is a ``@writes`` handler (an enabled admin, re-read now) calling the redemption services with the
request models /api/redemption uses (``RedemptionCreate``, ``RedemptionEdit``). The codes themselves never sit
in the table: as in one-api, they are shown once, right after creation, with a "Copy all" button (one code per
line).
"""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Redemption, RedemptionStatus, Role
from ..models.schemas import RedemptionCreate, RedemptionEdit
from ..services import redemptions as redemption_service
from .actions import Write, writes
from .common import error_text, format_quota, format_time, parse_whole
from .components.redemption_dialogs import codes_dialog, editor_dialog, redemption_table
from .components.widgets import confirm_dialog, pager, search_toolbar
from .registry import page
from .state import AdminListMixin
from .texts import lang_of, say, tr

STATUS_LABELS: dict[int, str] = {RedemptionStatus.UNUSED: "redemptions.unused",
                                   RedemptionStatus.DISABLED: "common.disabled", RedemptionStatus.USED: "redemptions.used"}
FIELDS = ("f_name", "f_quota", "f_count")
DEFAULT_QUOTA = 500000


def redemption_row(row: Redemption, quota_per_unit: float, lang: str = "en") -> dict[str, str]:
    """What the table shows of a code: never the code itself."""
    return {
        "id": str(row.id),
        "name": row.name,
        "status": str(int(row.status)),
        "status_label": t(STATUS_LABELS[row.status], lang) if row.status in STATUS_LABELS else
        t("redemptions.unknown_status", lang, status=row.status),
        "quota": format_quota(row.quota, True, quota_per_unit),
        "created": format_time(row.created_time),
        "redeemed": format_time(row.redeemed_time or 0),
    }


def codes_filename(name: str) -> str:
    """redemption-codes-<batch name>.txt, the name reduced to safe characters."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name.strip())[:40].strip("-")
    return f"redemption-codes-{safe}.txt" if safe else "redemption-codes.txt"


class RedemptionsState(AdminListMixin, rx.State):
    # the editor (edit_id 0 = add codes)
    edit_id: int = 0
    f_name: str = ""
    f_quota: str = str(DEFAULT_QUOTA)
    f_count: str = "1"

    # the codes just created (shown once)
    codes: list[str] = []

    def _fields(self) -> tuple[str, ...]:
        return FIELDS

    async def _reload(self) -> None:
        rt = runtime()
        per_unit = float(rt.options.QuotaPerUnit)
        async with rt.db.session() as session:
            if self.keyword.strip():
                found = await redemption_service.search_redemptions(session, self.keyword[:100])
                self.has_next = False
            else:
                found = await redemption_service.list_redemptions(session, self.page_no)
                self.has_next = len(found) == redemption_service.PAGE_SIZE
        lang = await lang_of(self)
        self.rows = [redemption_row(r, per_unit, lang) for r in found]

    # --- list --------------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        self.codes = []
        if await self._admin() is None:
            self.rows = []
            return
        await self._reload()

    @rx.event
    @writes(Role.ADMIN)
    async def set_status(self, w: Write, redemption_id: str, enable: bool):
        status = RedemptionStatus.UNUSED if enable else RedemptionStatus.DISABLED
        edit = RedemptionEdit.model_validate({"id": int(redemption_id), "status": int(status)})
        await redemption_service.update_redemption(w.session, edit.id, edit, status_only=True)
        await self._reload()
        return rx.toast.success(await say(self, "redemptions.enabled_n" if enable else "redemptions.disabled_n",
                                          id=redemption_id))

    # --- delete ------------------------------------------------------------------------------------------

    @rx.event
    async def ask_delete(self, redemption_id: str, name: str):
        if await self._admin() is None:
            return
        self.confirm_id = int(redemption_id)
        self.confirm_text = await say(self, "redemptions.ask_delete", id=redemption_id, name=name)

    @rx.event
    @writes(Role.ADMIN)
    async def confirm_delete(self, w: Write):
        redemption_id = self.confirm_id
        self.cancel_confirm()  # type: ignore[operator]  # a Reflex event handler, called as a method
        if not redemption_id:
            return
        await redemption_service.delete_redemption(w.session, redemption_id)
        await self._reload()
        return rx.toast.success(await say(self, "redemptions.deleted_n", id=redemption_id))

    # --- editor ------------------------------------------------------------------------------------------

    @rx.event
    async def open_add(self):
        if await self._admin() is None:
            return rx.toast.error(await say(self, "shell.admins_only"))
        self.edit_id, self.error = 0, ""
        self.f_name, self.f_quota, self.f_count = "", str(DEFAULT_QUOTA), "1"
        self.editor_open = True

    @rx.event
    async def open_edit(self, redemption_id: str):
        if await self._admin() is None:
            return rx.toast.error(await say(self, "shell.admins_only"))
        try:
            async with runtime().db.session() as session:
                row = await redemption_service.get_redemption(session, int(redemption_id))
        except Exception as exc:  # noqa: BLE001
            return rx.toast.error(error_text(exc, "redemption page action", await lang_of(self)))
        self.edit_id, self.error = row.id or 0, ""
        self.f_name, self.f_quota, self.f_count = row.name, str(row.quota), "1"
        self.editor_open = True

    @rx.event
    @writes(Role.ADMIN, error="error")
    async def save(self, w: Write):
        codes: list[str] = []
        quota = parse_whole(self.f_quota, "quota")
        if self.edit_id:  # as PUT /api/redemption/ (not status_only)
            edit = RedemptionEdit.model_validate({"id": self.edit_id, "name": self.f_name, "quota": quota})
            await redemption_service.update_redemption(w.session, edit.id, edit, status_only=False)
            message = await say(self, "redemptions.saved", id=self.edit_id)
        else:  # as POST /api/redemption/
            new = RedemptionCreate.model_validate({"name": self.f_name, "quota": quota,
                                                   "count": parse_whole(self.f_count, "count")})
            codes = await redemption_service.create_redemptions(w.session, w.user.id, new.name, new.quota, new.count)
            message = await say(self, "redemptions.created", count=len(codes))
        self.error, self.editor_open = "", False
        self.codes = codes
        await self._reload()
        return rx.toast.success(message)

    @rx.event
    def close_codes(self):
        self.codes = []

    @rx.event
    def codes_open_change(self, value: bool):
        if not value:
            self.codes = []

    @rx.event
    def download_codes(self):
        """The codes just created as a text file (one per line), named after the batch."""
        if not self.codes:
            return
        return rx.download(data="\n".join(self.codes) + "\n", filename=codes_filename(self.f_name),
                           mime_type="text/plain")

    @rx.event
    async def copy_codes(self):
        if not self.codes:
            return
        return [rx.set_clipboard("\n".join(self.codes)),
                rx.toast.success(await say(self, "redemptions.copied", count=len(self.codes)))]


# --- the page ---------------------------------------------------------------------------------------------

@page("/redemption", "page.redemptions", nav="page.redemptions", icon="ticket", min_role=Role.ADMIN,
      on_load=(RedemptionsState.load,))
def redemptions_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.redemptions"), size="5"),
        search_toolbar(
            RedemptionsState.keyword, RedemptionsState.set_keyword, "redemption-search", tr("redemptions.search"), "260px",
            rx.button(rx.icon("plus", size=14), tr("redemptions.add"), on_click=RedemptionsState.open_add, id="redemption-add"),
            rx.button(rx.icon("refresh-cw", size=14), tr("redemptions.refresh"), variant="soft", on_click=RedemptionsState.load,
                      id="redemption-refresh"),
        ),
        rx.box(redemption_table(RedemptionsState), width="100%", overflow_x="auto"),
        pager(RedemptionsState, "redemption"),
        editor_dialog(RedemptionsState),
        codes_dialog(RedemptionsState),
        confirm_dialog(tr("redemptions.confirm"), RedemptionsState.confirm_text, RedemptionsState.confirm_id != 0,
                       RedemptionsState.cancel_confirm, RedemptionsState.confirm_delete, "redemption-confirm-cancel",
                       "redemption-confirm"),
        spacing="3",
        width="100%",
    )
