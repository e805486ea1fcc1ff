"""Users (admins): list/search/paginate the accounts, add a user, edit (display name, group, quota, password),
enable/disable, promote/demote (promote: root only), delete (confirm).

Every write is a ``@writes`` handler (an enabled admin, re-read now) calling the same services with the same
request models as /api/user (``UserCreate``, ``UserEdit``, ``UserManage``), so the role rules are the services':
nobody edits users of equal or higher role unless root, promote is root-only, root cannot be disabled, deleted
or demoted, and a quota edit is applied as a delta with a manage log. The services announce the change so the
relay's cache drops a disabled user at once. Password hashes and access tokens never reach the page: rows
carry neither, and the password field is sent once with the form.
"""

from __future__ import annotations

import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Role, User, UserStatus
from ..models.schemas import UserCreate, UserEdit, UserManage
from ..services import users as user_service
from .actions import Write, writes
from .common import error_text, format_quota, parse_whole
from .components.user_dialogs import editor_dialog, user_table
from .components.widgets import confirm_dialog, pager, search_toolbar
from .registry import page
from .state import AdminListMixin, SessionState
from .texts import lang_of, say, tr

ROLE_LABELS: dict[int, str] = {Role.COMMON: "users.role_common", Role.ADMIN: "users.role_admin",
                               Role.ROOT: "users.role_root"}
STATUS_LABELS: dict[int, str] = {UserStatus.ENABLED: "common.enabled", UserStatus.DISABLED: "common.disabled",
                                  UserStatus.DELETED: "users.deleted"}
FIELDS = ("f_username", "f_display_name", "f_group", "f_quota")


# --- pure helpers (unit-tested) ---------------------------------------------------------------------------

def user_row(user: User, in_currency: bool, quota_per_unit: float, lang: str = "en") -> dict[str, str]:
    """What the table shows of a user: never the password hash nor the access token."""
    return {
        "id": str(user.id),
        "username": user.username,
        "display_name": user.display_name or "",
        "group": user.group or "default",
        "role": str(int(user.role)),
        "role_label": t(ROLE_LABELS[user.role], lang) if user.role in ROLE_LABELS else
        t("users.role_n", lang, role=user.role),
        "status": str(int(user.status)),
        "status_label": t(STATUS_LABELS[user.status], lang) if user.status in STATUS_LABELS else
        t("users.unknown_status", lang, status=user.status),
        "quota": format_quota(user.quota, in_currency, quota_per_unit),
        "used_quota": format_quota(user.used_quota, in_currency, quota_per_unit),
        "request_count": f"{user.request_count:,}",
    }


# --- state ------------------------------------------------------------------------------------------------

SORT_OPTIONS = (("", "users.sort_id"), ("quota", "users.sort_quota"), ("used_quota", "users.sort_used"),
                ("request_count", "users.sort_requests"))


class UsersState(AdminListMixin, rx.State):
    order: str = ""  # one-api's sort options: "" (newest id first), quota, used_quota, request_count
    # the editor (edit_id 0 = add a user)
    edit_id: int = 0
    f_username: str = ""
    f_display_name: str = ""
    f_group: str = ""
    f_quota: str = "0"

    def _fields(self) -> tuple[str, ...]:
        return FIELDS

    async def _reload(self) -> None:
        rt = runtime()
        in_currency, per_unit = bool(rt.options.DisplayInCurrencyEnabled), float(rt.options.QuotaPerUnit)
        async with rt.db.session() as session:
            if self.keyword.strip():
                found = await user_service.search_users(session, self.keyword[:100])
                self.has_next = False
            else:
                found = await user_service.list_users(session, self.page_no, self.order)
                self.has_next = len(found) == user_service.PAGE_SIZE
        lang = await lang_of(self)
        self.rows = [user_row(u, in_currency, per_unit, lang) for u in found]

    # --- list --------------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        if await self._admin() is None:
            self.rows = []
            return
        await self._reload()

    @rx.event
    async def set_order(self, value: str):
        self.order = value if value in user_service.USER_ORDERS else ""
        self.page_no = 0
        if await self._admin() is not None:
            await self._reload()

    # --- enable / disable / promote / demote / delete (as POST /api/user/manage) ---------------------------

    async def _manage(self, w: Write, user_id: int, action: str) -> None:
        """One manage action (as POST /api/user/manage, which names the user)."""
        target = await user_service.get_user(w.session, user_id)
        body = UserManage.model_validate({"username": target.username, "action": action})
        await user_service.manage_user(w.session, w.user, body.username, body.action, bus=w.bus)
        await self._reload()

    @rx.event
    @writes(Role.ADMIN)
    async def manage(self, w: Write, user_id: str, action: str):
        await self._manage(w, int(user_id), action)
        return rx.toast.success(await say(self, f"users.done_{action}", id=user_id))

    @rx.event
    async def ask_delete(self, user_id: str, username: str):
        if await self._admin() is None:
            return
        self.confirm_id = int(user_id)
        self.confirm_text = await say(self, "users.ask_delete", id=user_id, name=username)

    @rx.event
    @writes(Role.ADMIN)
    async def confirm_delete(self, w: Write):
        user_id = self.confirm_id
        self.cancel_confirm()  # type: ignore[operator]  # a Reflex event handler, called as a method
        if not user_id:
            return
        await self._manage(w, user_id, "delete")
        return rx.toast.success(await say(self, "users.deleted_n", id=user_id))

    # --- editor ------------------------------------------------------------------------------------------

    @rx.event
    async def open_add(self):
        if await self._admin() is None:
            return rx.toast.error(await say(self, "shell.admins_only"))
        self.edit_id, self.error = 0, ""
        self.f_username, self.f_display_name, self.f_group, self.f_quota = "", "", "", "0"
        self.editor_open = True

    @rx.event
    async def open_edit(self, user_id: str):
        admin = await self._admin()
        if admin is None:
            return rx.toast.error(await say(self, "shell.admins_only"))
        try:
            async with runtime().db.session() as session:
                user = await user_service.get_user_for(session, admin, int(user_id))
        except Exception as exc:  # noqa: BLE001
            return rx.toast.error(error_text(exc, "user page action", await lang_of(self)))
        self.edit_id, self.error = user.id or 0, ""
        self.f_username, self.f_display_name = user.username, user.display_name or ""
        self.f_group, self.f_quota = user.group or "default", str(user.quota)
        self.editor_open = True

    @rx.event
    @writes(Role.ADMIN, error="error")
    async def save(self, w: Write, form: dict):
        """The editor's submit. The password comes only from the form (never kept in state)."""
        password = str(form.get("password", ""))
        rt = w.runtime
        if self.edit_id:  # as PUT /api/user/: only these fields; an empty password keeps the stored one
            edit = UserEdit.model_validate({"id": self.edit_id, "display_name": self.f_display_name,
                                            "group": self.f_group, "quota": parse_whole(self.f_quota, "quota"),
                                            "password": password})
            user = await user_service.update_user_by_admin(rt.db, w.session, w.user, rt.options, edit.id, edit,
                                                           bus=w.bus)
            message = await say(self, "users.saved", id=user.id)
        else:  # as POST /api/user/
            new = UserCreate.model_validate({"username": self.f_username.strip(), "password": password,
                                             "display_name": self.f_display_name.strip()})
            user = await user_service.create_user(rt.db, w.session, rt.options, username=new.username,
                                                  password=new.password, display_name=new.display_name)
            message = await say(self, "users.created", name=user.username)
        self.error, self.editor_open = "", False
        await self._reload()
        return rx.toast.success(message)


SORT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
              "background": "var(--color-surface)", "color": "var(--gray-12)"}


# --- the page ---------------------------------------------------------------------------------------------

@page("/user", "page.users", nav="page.users", icon="users", min_role=Role.ADMIN, on_load=(UsersState.load,))
def users_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("page.users"), size="5"),
        search_toolbar(
            UsersState.keyword, UsersState.set_keyword, "user-search", tr("users.search"),
            "320px",
            rx.el.select(*[rx.el.option(tr(label), value=value) for value, label in SORT_OPTIONS], value=UsersState.order,
                         on_change=UsersState.set_order, id="user-sort", style=SORT_STYLE),
            rx.button(rx.icon("user-plus", size=14), tr("users.add"), on_click=UsersState.open_add, id="user-add"),
            rx.button(rx.icon("refresh-cw", size=14), tr("users.refresh"), variant="soft", on_click=UsersState.load,
                      id="user-refresh"),
        ),
        rx.box(user_table(UsersState, SessionState.role == Role.ROOT), width="100%", overflow_x="auto"),
        pager(UsersState, "user"),
        editor_dialog(UsersState),
        confirm_dialog(tr("users.confirm"), UsersState.confirm_text, UsersState.confirm_id != 0, UsersState.cancel_confirm,
                       UsersState.confirm_delete, "user-confirm-cancel", "user-confirm"),
        spacing="3",
        width="100%",
    )
