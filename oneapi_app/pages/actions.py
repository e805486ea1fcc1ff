"""``@writes``: the one way a dashboard handler acts on the services.

A decorated handler ``async def handler(self, w: Write, *args)`` runs only for a user who is, re-read from the
database now, enabled and of at least ``min_role`` (a user disabled or demoted since the page loaded is refused
at once); it gets that user, a database session and the change bus in ``w``, calls the services (which hold the
write rules and announce their changes), and returns its success events. Whatever the services raise becomes
a toast (and the text of the state field ``error``, when given), in the language the user chose in the
dashboard (``SessionState.lang``, not the server's LANGUAGE): the typed ``AppError``'s text, a page check's
``UiError``, a request model's validation message, a ``ValueError``'s text; anything else is logged and shown
as "Unexpected error".

Refused: a common-role handler logs the user out (toast and redirect to /login); an admin handler says
"Admins only." (``shell.admins_only``). The decorated handler keeps its public signature (without ``w``), so Reflex binds the
frontend's arguments as before; async generator handlers (``yield`` for a busy flag) work the same way.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx
from sqlmodel.ext.asyncio.session import AsyncSession

from ..appliance import runtime
from ..changes import Changes
from ..models import Role, User
from ..runtime import Runtime
from .common import error_text
from .state import SessionState


@dataclass(frozen=True)
class Write:
    """What a decorated handler acts with: the acting user (attached to ``session``), the session, the runtime."""

    user: User
    session: AsyncSession
    runtime: Runtime

    @property
    def bus(self) -> Changes:
        return self.runtime.changes


async def _session(state: Any) -> SessionState:
    return state if isinstance(state, SessionState) else await state.get_state(SessionState)


async def _begin(state: Any, session: AsyncSession, min_role: int, error: str) -> tuple[User | None, Any]:
    """The acting user, or None and the events that refuse the action."""
    session_state = await _session(state)
    user = await session_state._fresh_user(min_role, session)
    await session.commit()  # end the read: the services open their own transactions (the user stays loaded)
    if user is not None:
        return user, None
    if min_role >= Role.ADMIN:
        refused = session_state._say("shell.admins_only")
        if error:
            setattr(state, error, refused)
        return None, rx.toast.error(refused)
    return None, session_state._refuse()


async def _failed(state: Any, exc: Exception, error: str, action: str):
    message = error_text(exc, action, (await _session(state))._lang())
    if error:
        setattr(state, error, message)
    return rx.toast.error(message)


def writes(min_role: int = Role.COMMON, *, error: str = "", action: str = "dashboard action") -> Callable:
    """Decorate a state method ``(self, w: Write, *args)``: see the module docstring."""

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)
        self_param, write_param, *rest = signature.parameters.values()

        if inspect.isasyncgenfunction(fn):
            async def handler(self, *args, **kwargs):
                rt = runtime()
                async with rt.db.session() as session:
                    user, refusal = await _begin(self, session, min_role, error)
                    if user is None:
                        yield refusal
                        return
                    try:
                        async for event in fn(self, Write(user, session, rt), *args, **kwargs):
                            yield event
                    except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
                        yield await _failed(self, exc, error, action)
        else:
            async def handler(self, *args, **kwargs):  # type: ignore[misc]
                rt = runtime()
                async with rt.db.session() as session:
                    user, refusal = await _begin(self, session, min_role, error)
                    if user is None:
                        return refusal
                    try:
                        return await fn(self, Write(user, session, rt), *args, **kwargs)
                    except Exception as exc:  # noqa: BLE001 - shown, never a stack trace
                        return await _failed(self, exc, error, action)

        functools.update_wrapper(handler, fn)
        handler.__signature__ = signature.replace(parameters=[self_param, *rest])  # type: ignore[attr-defined]
        handler.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != write_param.name}
        return handler

    return decorate
