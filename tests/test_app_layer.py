"""One application layer under both front doors (/api and the dashboard).

- The services hold the write rules and announce their own changes after the commit: a subscriber called by
  the notice already reads the committed row from a new session.
- No module under api/ or pages/ announces changes itself, and pages never import oneapi_app.api.
- ``@writes`` (pages/actions.py): the role is re-checked, the service's error becomes a toast.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from sqlmodel import select

import oneapi_app
from oneapi_app.errors import AppError, BadRequest, ConfigError
from oneapi_app.models import (
    Ability,
    Channel,
    Role,
    Token,
    TokenStatus,
    User,
    UserStatus,
)
from oneapi_app.models.schemas import (
    ChannelCreate,
    ChannelUpdate,
    TokenCreate,
    TokenUpdate,
    UserEdit,
    UserManage,
)
from oneapi_app.services import channels, options, tokens, users

PACKAGE = Path(oneapi_app.__file__).parent


# --- structure --------------------------------------------------------------------------------------------

def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """The absolute names a module imports (relative imports resolved against its package)."""
    package = ".".join(("oneapi_app", *path.relative_to(PACKAGE).parent.parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _publish_calls(path: Path) -> list[int]:
    """Lines calling ``<anything>.publish(...)`` on a change bus (``changes``, ``bus``, ``runtime.changes``)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "publish":
            target = ast.unparse(node.func.value)
            if target.split(".")[-1].split("(")[0] in ("changes", "bus"):
                lines.append(node.lineno)
    return lines


def test_pages_never_import_the_api():
    offenders = {str(p.relative_to(PACKAGE)): sorted(n for n in _imports(p) if n.startswith("oneapi_app.api"))
                 for p in _modules("pages")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_services_announce_changes():
    offenders = {str(p.relative_to(PACKAGE)): _publish_calls(p) for p in _modules("api") + _modules("pages")}
    assert {k: v for k, v in offenders.items() if v} == {}
    # ...and the check sees a notice where there is one.
    assert _publish_calls(PACKAGE / "services" / "tokens.py")


def test_request_models_live_below_both_front_doors():
    """No pydantic request model is declared in api/ or pages/: they share models/schemas."""
    declared = {}
    for path in _modules("api") + _modules("pages"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b) in ("Body", "BaseModel", "SQLModel")
                                                      for b in node.bases):
                declared[f"{path.relative_to(PACKAGE)}:{node.name}"] = node.lineno
    assert declared == {}


# --- services announce their own changes, after the commit ----------------------------------------------

class Recorder:
    """A change bus that, like the relay's cache, reads the database when a notice arrives."""

    def __init__(self, runtime, read=None):
        self.runtime, self.read, self.notices = runtime, read, []

    async def publish(self, kind: str, key: object = None) -> None:
        seen = None
        if self.read is not None:
            async with self.runtime.db.session() as fresh:
                seen = await self.read(fresh, kind, key)
        self.notices.append((kind, key, seen))


async def _token_status(session, kind, key):
    row = (await session.exec(select(Token).where(Token.key == key))).first()
    return None if row is None else row.status


async def test_token_writes_announce_the_key_after_commit(runtime):
    bus = Recorder(runtime, _token_status)
    async with runtime.db.session() as s:
        token = await tokens.create_token(s, 1, TokenCreate(name="t", remain_quota=5))
        await tokens.update_token(s, token.id, TokenUpdate(status=TokenStatus.DISABLED), 1, status_only=True,
                                  bus=bus)
        assert bus.notices == [("token", token.key, TokenStatus.DISABLED)]
        # An ordinary edit never changes the status, and announces the key too.
        await tokens.update_token(s, token.id, TokenUpdate(name="renamed", status=TokenStatus.ENABLED), 1, bus=bus)
        assert bus.notices[-1] == ("token", token.key, TokenStatus.DISABLED)
        with pytest.raises(AppError, match="status_only 需要 status"):
            await tokens.update_token(s, token.id, TokenUpdate(), 1, status_only=True, bus=bus)
        await tokens.delete_token(s, token.id, 1, bus=bus)
        assert bus.notices[-1] == ("token", token.key, None)
        assert len(bus.notices) == 3


async def _abilities(session, kind, key):
    return sorted((a.model, a.enabled) for a in (await session.exec(select(Ability))).all())


async def test_channel_edit_rules_live_in_the_service(runtime):
    bus = Recorder(runtime, _abilities)
    async with runtime.db.session() as s:
        [channel] = await channels.create_channels(s, ChannelCreate(key="k", name="c", models="m1", type=1), bus=bus)
        assert bus.notices == [("channels", None, [("m1", True)])]
        # one-api's rule: a zero type and empty name, models, group, key, base URL keep the stored values;
        # a new status comes with the edit, and the abilities follow before the notice.
        await channels.update_channel(s, channel.id, ChannelUpdate(type=0, name="", models="", group="", key="",
                                                                   base_url="", priority=4, status=2), bus=bus)
        assert bus.notices[-1] == ("channels", None, [("m1", False)])
    async with runtime.db.session() as s:
        stored = await s.get(Channel, channel.id)
        assert (stored.type, stored.name, stored.models, stored.group, stored.key, stored.priority, stored.status) \
            == (1, "c", "m1", "default", "k", 4, 2)
        await channels.delete_channel(s, channel.id, bus=bus)
        assert bus.notices[-1] == ("channels", None, []) and len(bus.notices) == 3


async def _user_row(session, kind, key):
    user = await session.get(User, key)
    return None if user is None else (user.status, user.quota)


async def test_user_writes_announce_the_id_after_commit(runtime):
    bus = Recorder(runtime, _user_row)
    async with runtime.db.session() as s:
        root = await s.get(User, 1)
        bob = await users.create_user(runtime.db, s, runtime.options, username="bob", password="bobpass123")
        manage = UserManage(username="bob", action="disable")
        await users.manage_user(s, root, manage.username, manage.action, bus=bus)
        assert bus.notices == [("user", bob.id, (UserStatus.DISABLED, 0))]
        # The request model as the API and the page send it: an empty password keeps the stored one.
        edit = UserEdit(id=bob.id, quota=300, password="", display_name="Bob")
        await users.update_user_by_admin(runtime.db, s, root, runtime.options, edit.id, edit, bus=bus)
        assert bus.notices[-1] == ("user", bob.id, (UserStatus.DISABLED, 300))
        assert await users.authenticate(s, "bob", "bobpass123") is None  # disabled, password unchanged
    async with runtime.db.session() as s:
        assert (await s.get(User, bob.id)).display_name == "Bob"


async def test_option_rules_live_in_the_service(runtime):
    bus = Recorder(runtime)
    async with runtime.db.session() as s:
        with pytest.raises(ConfigError, match="GitHub"):
            await options.update_option(s, runtime.options, "GitHubOAuthEnabled", True, bus=bus)
        with pytest.raises(ConfigError, match="保留的键"):
            await options.update_option(s, runtime.options, "verification:x", "1", bus=bus)
        assert bus.notices == []
        updated = await options.update_option(s, runtime.options, "RetryTimes", 2, bus=bus)
    assert updated.RetryTimes == 2 and bus.notices == [("options", None, None)]


# --- @writes ----------------------------------------------------------------------------------------------

class FakeSessionState:
    def __init__(self, user, lang: str = "en"):
        self.user, self.refused, self.lang = user, False, lang

    def _lang(self):
        return self.lang

    def _say(self, msg_id, **params):
        from oneapi_app.i18n import t

        return t(msg_id, self.lang, **params)

    async def _fresh_user(self, min_role, session=None):
        if self.user is None or self.user.role < min_role:
            return None
        return await session.get(User, self.user.id)

    def _refuse(self):
        self.refused = True
        return "logged out"


class FakeState:
    error = ""

    def __init__(self, user):
        self.session_state = FakeSessionState(user)

    async def get_state(self, cls):
        return self.session_state


@pytest.fixture
def actions(runtime, monkeypatch):
    from oneapi_app.pages import actions

    monkeypatch.setattr(actions, "runtime", lambda: runtime)
    return actions


async def test_writes_rechecks_the_role_and_turns_errors_into_toasts(runtime, actions):
    calls = []

    @actions.writes(Role.ADMIN, error="error")
    async def handler(self, w, name: str):
        calls.append((w.user.username, name, w.bus is runtime.changes))
        if name == "bad":
            raise BadRequest("the service said no")
        if name == "boom":
            raise RuntimeError("internal detail")
        return "done"

    assert list(inspect.signature(handler).parameters) == ["self", "name"]  # what Reflex binds
    assert "w" not in handler.__annotations__
    root = User(id=1, username="root", role=Role.ROOT, password="")
    state = FakeState(root)
    assert await handler(state, "ok") == "done" and calls == [("root", "ok", True)]
    await handler(state, "bad")
    assert state.error == "the service said no"
    await handler(state, "boom")
    assert state.error == "Unexpected error; see the server log."
    common = FakeState(User(id=1, username="root", role=Role.COMMON, password=""))
    await handler(common, "ok")
    assert common.error == "Admins only." and len(calls) == 3  # refused before the service ran


async def test_writes_logs_out_a_refused_user_and_runs_generators(runtime, actions):
    @actions.writes(Role.COMMON, error="error")
    async def busy(self, w):
        yield "busy"
        raise BadRequest("nope")

    state = FakeState(User(id=1, username="root", role=Role.ROOT, password=""))
    events = [e async for e in busy(state)]
    assert events[0] == "busy" and len(events) == 2 and state.error == "nope"
    gone = FakeState(None)  # disabled, deleted or logged out since the page loaded
    assert [e async for e in busy(gone)] == ["logged out"] and gone.session_state.refused
