"""Playground (logged-in users): pick one of your tokens and a model your group reaches, send a chat message and
watch the answer stream in; and open the token in a chat app (NextChat / the ChatLink option, LobeChat, AMA,
OpenCat) with the key and this appliance's address filled in.

The request goes from the dashboard's backend to this appliance's own relay (``/v1/chat/completions``, streamed,
with the chosen token's key), so it is routed, billed and logged like any client's. The key is read from the
database for each request and kept in backend-only state for that request only; it never reaches the page
(the chat-app buttons open the app through a one-off script, as the Tokens page copies the key)."""

from __future__ import annotations

import json
import time

import httpx
import reflex as rx

from ..appliance import runtime
from ..i18n import t
from ..models import Role, TokenStatus
from ..relay.streaming import SSEReader
from ..services import stats
from ..services import tokens as token_service
from .chat_links import APPS, open_script
from .common import public_address
from .registry import page
from .state import SessionState
from .texts import lang_of, say, tr

MAX_HISTORY = 20


def stream_text(payload: bytes) -> tuple[str, str]:
    """(content delta, error message) of one SSE payload of a chat completion stream."""
    if payload == b"[DONE]":
        return "", ""
    try:
        event = json.loads(payload)
    except ValueError:
        return "", ""
    if not isinstance(event, dict):
        return "", ""
    if isinstance(event.get("error"), dict):
        return "", str(event["error"].get("message") or event["error"])
    parts = []
    for choice in event.get("choices") or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            parts.append(delta["content"])
    return "".join(parts), ""


def _failed(item: tuple[str, str], lang: str) -> tuple[str, str]:
    delta, error = item
    return delta, t("playground.failed", lang, detail=error) if error else ""


def _relay_urls(origin: str) -> list[str]:
    """This appliance's relay: on the loopback at its port first, then the address the browser used."""
    urls = [f"http://127.0.0.1:{runtime().settings.port}/v1/chat/completions"]
    if origin.startswith(("http://", "https://")):
        urls.append(origin.rstrip("/") + "/v1/chat/completions")
    return urls


class PlaygroundState(rx.State):
    tokens: list[dict[str, str]] = []
    models: list[str] = []
    token_id: str = ""
    model: str = ""
    message: str = ""
    history: list[dict[str, str]] = []  # {"role", "content"}
    answer: str = ""  # the answer being streamed
    busy: bool = False
    error: str = ""
    chat_link_set: bool = False

    @rx.var
    def has_tokens(self) -> bool:
        return bool(self.tokens)

    @rx.var
    def has_models(self) -> bool:
        return bool(self.models)

    async def _user(self):
        return await (await self.get_state(SessionState))._fresh_user()

    @rx.event
    async def load(self):
        user = await self._user()
        if user is None:
            self.tokens, self.models = [], []
            return
        rt = runtime()
        async with rt.db.session() as session:
            found = await token_service.search_tokens(session, user.id, "")  # up to 100, newest first
            models = await stats.reachable_models(session, user.group or "default")
        self.tokens = [{"id": str(t.id), "name": t.name or f"#{t.id}"} for t in found
                       if t.status == TokenStatus.ENABLED]
        self.models = sorted(models)
        if self.token_id not in {t["id"] for t in self.tokens}:
            self.token_id = self.tokens[0]["id"] if self.tokens else ""
        if self.model not in self.models:
            self.model = self.models[0] if self.models else ""
        self.chat_link_set = bool(rt.options.ChatLink)
        self.error = ""

    @rx.event
    def set_token(self, value: str):
        self.token_id = str(value)

    @rx.event
    def set_model(self, value: str):
        self.model = str(value)

    @rx.event
    def set_message(self, value: str):
        self.message = str(value)

    @rx.event
    def clear(self):
        self.history, self.answer, self.error = [], "", ""

    async def _key(self, token_id: str) -> str | None:
        user = await self._user()
        if user is None or not token_id.isdigit():
            return None
        async with runtime().db.session() as session:
            token = await token_service.get_token(session, int(token_id), user.id)
        return token.display_key

    @rx.event
    async def open_chat(self, app: str):
        """Open the chosen token in a chat app: the link (with the key) goes to the browser once, never to state."""
        try:
            key = await self._key(self.token_id)
        except Exception:  # noqa: BLE001 - a token deleted meanwhile
            key = None
        if not key:
            return rx.toast.error(await say(self, "playground.pick"))
        rt = runtime()
        server = public_address(rt.options.ServerAddress, self.router.headers.origin)
        script = open_script(key, server, rt.options.ChatLink, app)
        return rx.call_script(script) if script else None

    @rx.event
    async def send(self):
        text = self.message.strip()
        if self.busy:
            return
        if not text:
            self.error = await say(self, "playground.empty")
            return
        try:
            key = await self._key(self.token_id)
        except Exception:  # noqa: BLE001
            key = None
        if not key or not self.model:
            self.error = await say(self, "playground.pick")
            return
        self.history = [*self.history, {"role": "user", "content": text}][-MAX_HISTORY:]
        self.message, self.answer, self.error, self.busy = "", "", "", True
        yield
        body = {"model": self.model, "stream": True, "messages": [dict(m) for m in self.history]}
        headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
        last, lang = time.monotonic(), await lang_of(self)
        try:
            async for delta, failure in self._stream(body, headers, lang):
                if failure:
                    self.error = failure
                    break
                self.answer += delta
                if time.monotonic() - last > 0.05:
                    last = time.monotonic()
                    yield
        finally:
            if self.answer:
                self.history = [*self.history, {"role": "assistant", "content": self.answer}][-MAX_HISTORY:]
            self.answer, self.busy = "", False

    async def _stream(self, body: dict, headers: dict, lang: str):
        """(delta, error text in ``lang``) pairs of the relay's streamed answer."""
        last_error: Exception | None = None
        for url in _relay_urls(self.router.headers.origin):
            try:
                async with httpx.AsyncClient(timeout=httpx.Timeout(300, connect=5)) as http, \
                        http.stream("POST", url, json=body, headers=headers) as reply:
                    if reply.status_code != 200:
                        raw = await reply.aread()
                        try:
                            detail = json.loads(raw)["error"]["message"]
                        except (ValueError, KeyError, TypeError):
                            detail = f"HTTP {reply.status_code}"
                        yield "", t("playground.failed", lang, detail=str(detail))
                        return
                    reader = SSEReader()
                    async for chunk in reply.aiter_bytes():
                        for payload in reader.feed(chunk):
                            yield _failed(stream_text(payload), lang)
                    for payload in reader.finish():
                        yield _failed(stream_text(payload), lang)
                    return
            except httpx.ConnectError as exc:
                last_error = exc
            except httpx.HTTPError as exc:
                yield "", t("playground.unreachable", lang, detail=type(exc).__name__)
                return
        yield "", t("playground.unreachable", lang, detail=type(last_error).__name__ if last_error else "")


def _bubble(message) -> rx.Component:
    mine = message["role"] == "user"
    return rx.box(
        rx.text(rx.cond(mine, tr("playground.you"), tr("playground.assistant")), size="1", color="gray"),
        rx.text(message["content"], white_space="pre-wrap", size="2"),
        background=rx.cond(mine, "var(--accent-a3)", "var(--gray-a3)"),
        padding="8px 12px", border_radius="8px", width="100%",
        class_name=rx.cond(mine, "playground-user", "playground-assistant"),
    )


def _streaming(answer) -> rx.Component:
    return rx.box(
        rx.text(tr("playground.assistant"), size="1", color="gray"),
        rx.text(answer, white_space="pre-wrap", size="2", id="playground-streaming"),
        background="var(--gray-a3)", padding="8px 12px", border_radius="8px", width="100%",
    )


SELECT_STYLE = {"height": "32px", "padding": "0 8px", "border_radius": "6px", "border": "1px solid var(--gray-a7)",
                "background": "var(--color-surface)", "color": "var(--gray-12)", "width": "100%"}


@page("/playground", "page.playground", nav="page.playground", icon="message-square", min_role=Role.COMMON,
      on_load=(PlaygroundState.load,))
def playground_page() -> rx.Component:
    s = PlaygroundState
    return rx.vstack(
        rx.heading(tr("page.playground"), size="5"),
        rx.cond(~s.has_tokens, rx.callout(tr("playground.no_tokens"), icon="info", id="playground-no-tokens")),
        rx.cond(~s.has_models, rx.callout(tr("playground.no_models"), icon="info", id="playground-no-models")),
        rx.grid(
            rx.vstack(rx.text(tr("playground.token"), size="2", weight="medium"), rx.el.select(
                rx.foreach(s.tokens, lambda t: rx.el.option(t["name"], value=t["id"])),
                value=s.token_id, on_change=s.set_token, id="playground-token", style=SELECT_STYLE),
                spacing="1", width="100%"),
            rx.vstack(rx.text(tr("playground.model"), size="2", weight="medium"), rx.el.select(
                rx.foreach(s.models, lambda m: rx.el.option(m, value=m)),
                value=s.model, on_change=s.set_model, id="playground-model", style=SELECT_STYLE),
                spacing="1", width="100%"),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        rx.vstack(
            rx.foreach(s.history, _bubble),
            rx.cond(s.busy, _streaming(s.answer)),
            spacing="2",
            width="100%",
            id="playground-conversation",
        ),
        rx.cond(s.error != "", rx.callout(s.error, color_scheme="red", icon="triangle_alert", id="playground-error",
                                          width="100%")),
        rx.text_area(value=s.message, on_change=s.set_message, placeholder=tr("playground.placeholder"), rows="3",
                     width="100%", id="playground-message"),
        rx.hstack(
            rx.button(rx.icon("send", size=14), tr("playground.send"), on_click=s.send, loading=s.busy, id="playground-send"),
            rx.button(tr("playground.clear"), variant="soft", color_scheme="gray", on_click=s.clear, id="playground-clear"),
            spacing="2",
        ),
        rx.divider(),
        rx.text(tr("playground.chat_apps"), size="2", weight="medium"),
        rx.hstack(
            *[rx.button(label, size="1", variant="soft", id=f"playground-open-{app}",
                       on_click=s.open_chat(app))  # type: ignore[operator]  # a Reflex event handler
              for app, label in APPS],
            spacing="2",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )
