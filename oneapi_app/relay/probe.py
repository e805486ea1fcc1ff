"""The channel test's request: one-api's shape (a non-stream chat completion with TEST_PROMPT) built by the
relay's adaptor of the channel's type (its URL rules and headers: one place) and its answer read back in
OpenAI shape. The services reach it through ``Runtime.probe_channel`` (services never import the relay);
services/channel_checks.py records the result and applies the auto-disable rules.
"""

from __future__ import annotations

import json
import time

import httpx
import orjson

from ..catalog.channel_types import config_secrets
from ..errors import AppError, UpstreamFailure
from ..models import Channel
from ..scrub import scrub_text
from ..services.channel_checks import TestResult
from ..services.channel_registry import type_info
from .adaptors import adaptor_for
from .adaptors.base import Adaptor, Call, ProviderSettings, Target
from .credentials import refused
from .dialects.chat import answer_dict
from .upstream import NETWORK_ERRORS, UpstreamRequest


def _json_object(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def pick_test_model(channel: Channel, asked: str) -> str:
    models = [m.strip() for m in (channel.models or "").split(",") if m.strip()]
    if asked and asked in (channel.models or ""):
        return asked
    return models[0] if models else (asked or "gpt-3.5-turbo")


async def _upstream_request(http: httpx.AsyncClient, channel: Channel, model: str, body: dict,
                            provider: ProviderSettings):
    """(request, adaptor, call): the request the relay's adaptor would send, or None when the channel's type
    has no adaptor yet. An adaptor that needs a credentials exchange (Vertex AI's service account) gets it
    made first, uncached: a test checks the credentials themselves."""
    adaptor = adaptor_for(channel.type)
    if adaptor is None:
        return None
    target = Target(channel.type, channel.base_url or "", channel.key, _json_object(channel.config),
                    channel.other or "", provider)
    exchange = getattr(adaptor, "credential_request", None)
    wanted = exchange(target) if exchange is not None else None
    if wanted is not None:
        reply = await http.request(wanted.request.method, wanted.request.url, headers=wanted.request.headers,
                                   content=wanted.request.body, timeout=60)
        if reply.status_code not in (200, 201):
            raise refused(wanted, reply.status_code, reply.content)  # the provider's words, the relay's rule
        target.credential = wanted.parse(reply.content)[0]
    call = Call("chat", "/v1/chat/completions", model, body, orjson.dumps(body), rewritten=True, stream=False)
    return adaptor.build_request(target, call), adaptor, call


async def _websocket(request: UpstreamRequest) -> httpx.Response:
    """A websocket call (Spark v1) made the relay's way, its messages as one body for ``parse_answer``."""
    import aiohttp

    from . import ws_upstream

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        resp = await ws_upstream.open_websocket(session, request)
        body = await resp.read(16 * 1024 * 1024)
    return httpx.Response(resp.status, content=body, headers={"content-type": resp.content_type})


def _openai_reply(adaptor: Adaptor, call: Call, reply: httpx.Response) -> dict | None:
    """The upstream's reply in OpenAI shape -- the answer, or ``{"error": ...}``. Other families are read
    through their adaptor, as the relay reads them; None when the reply is not JSON at all."""
    if adaptor.name == "openai":
        try:
            data = reply.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    try:
        if reply.status_code != 200:
            raise adaptor.map_error(reply.status_code, reply.content)
        answer = adaptor.parse_answer(call, reply.content, reply.headers.get("content-type", ""))
        return answer_dict(answer, call.model)
    except AppError as failure:  # UpstreamFailure included
        return failure.openai_body()


async def run_test(http: httpx.AsyncClient, channel: Channel, asked_model: str, prompt: str,
                   provider: ProviderSettings) -> tuple[TestResult, str]:
    """(result, the model tested): never raises for an upstream's failure, the result says it; its message
    (the upstream's words) never carries the channel's key."""
    result, model = await _run_test(http, channel, asked_model, prompt, provider)
    result.message = scrub_text(result.message, channel.key, *config_secrets(channel.config))
    return result, model


async def _run_test(http: httpx.AsyncClient, channel: Channel, asked_model: str, prompt: str,
                    provider: ProviderSettings) -> tuple[TestResult, str]:
    model = pick_test_model(channel, asked_model)
    upstream_model = _json_object(channel.model_mapping).get(model, model)
    body = {"model": upstream_model, "messages": [{"role": "user", "content": prompt}]}
    started = time.perf_counter()
    try:
        prepared = await _upstream_request(http, channel, upstream_model, body, provider)
        if prepared is None:
            info = type_info(channel.type)
            return TestResult(False, f"testing channels of type {channel.type} ({info['name']}) needs its relay "
                                     "adaptor, which does not exist yet", 0.0), model
        request, adaptor, call = prepared
        if request.websocket_message is not None:
            reply = await _websocket(request)
        else:
            reply = await http.request(request.method, request.url, headers=request.headers, content=request.body,
                                       timeout=60)
    except UpstreamFailure as exc:  # the adaptor refused the request, or its credentials exchange failed
        detail = exc.body or {}
        return TestResult(False, exc.message, time.perf_counter() - started, exc.status,
                          str(detail.get("type") or exc.type or ""), str(detail.get("code") or exc.code or "")), model
    except AppError as exc:  # the adaptor refused to build the request (e.g. a channel config it needs is missing)
        return TestResult(False, exc.message, time.perf_counter() - started), model
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError, *NETWORK_ERRORS) as exc:
        # Unreachable upstream, or a key / base URL that cannot even form a request.
        return TestResult(False, f"request failed: {type(exc).__name__}: {exc}", time.perf_counter() - started), model
    elapsed = time.perf_counter() - started
    data = _openai_reply(adaptor, call, reply)
    if reply.status_code != 200 or not isinstance(data, dict):
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        fallback = data.get("message") if isinstance(data, dict) else ""
        message = str(error.get("message") or fallback or "") or f"bad response status code {reply.status_code}"
        return TestResult(False, message, elapsed, reply.status_code, str(error.get("type") or ""),
                          str(error.get("code") or "")), model
    if isinstance(data.get("error"), dict):
        error = data["error"]
        return TestResult(False, str(error.get("message", "upstream error")), elapsed, reply.status_code,
                          str(error.get("type") or ""), str(error.get("code") or "")), model
    try:
        content = data["choices"][0]["message"]["content"]
        if not isinstance(content, str) or not isinstance(data.get("usage"), dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        return TestResult(False, "the upstream answer has no usage or no choices[0].message.content", elapsed,
                          reply.status_code), model
    return TestResult(True, content, elapsed, reply.status_code), model
