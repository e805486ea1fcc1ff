"""A fake OpenAI media upstream (images, audio, rerank, chat with cached tokens, anything for the proxy) on a
local aiohttp server. Behaviour by the channel key it receives: ``ok``; ``fail<status>`` answers that status
with an OpenAI error body; ``error200`` answers 200 with an OpenAI error body; ``big`` answers images with
large base64 payloads; ``slow`` answers images after 30 s; ``nousage`` answers rerank without usage.
"""

from __future__ import annotations

import asyncio
import base64
import wave
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from io import BytesIO

import orjson
from aiohttp import web

TRANSCRIPT = "Hello from the fake whisper upstream."
AUDIO = b"ID3" + bytes(range(256)) * 1200  # ~300 KB of "mp3"
BIG_IMAGE = b"\x89PNG" + b"\x01" * (900 * 1024)


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict
    raw: bytes
    form: dict = field(default_factory=dict)


@dataclass
class MediaUpstream:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)


def _key(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ") or request.headers.get("api-key", "")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "test_error", "param": None,
                                        "code": f"code_{status}"}}, status=status)


def small_wav() -> bytes:
    out = BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000)  # one second
    return out.getvalue()


def transcript_body(response_format: str) -> tuple[bytes, str]:
    if response_format == "text":
        return (TRANSCRIPT + "\n").encode(), "text/plain"
    if response_format in ("srt", "vtt"):
        head = "WEBVTT\n\n" if response_format == "vtt" else "1\n"
        return (f"{head}00:00:00,000 --> 00:00:01,000\n{TRANSCRIPT}\n\n").encode(), "text/plain"
    if response_format == "verbose_json":
        return orjson.dumps({"task": "transcribe", "duration": 1.0, "text": TRANSCRIPT, "segments": []}), \
            "application/json"
    return orjson.dumps({"text": TRANSCRIPT}), "application/json"


def parse_form(raw: bytes, content_type: str) -> dict:
    """The fields of a multipart body (text as str, files as bytes), read with the standard library."""
    message = BytesParser(policy=default).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    form: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        form.setdefault(name, payload if part.get_filename() else payload.decode())
    return form


def app(state: MediaUpstream) -> web.Application:
    async def record(request: web.Request) -> tuple[bytes, str]:
        raw = await request.read()
        form: dict = {}
        if request.content_type == "multipart/form-data":
            form = parse_form(raw, request.headers["Content-Type"])
        state.seen.append(Seen(request.method, request.path, request.query_string, dict(request.headers), raw, form))
        return raw, _key(request)

    async def images(request: web.Request) -> web.StreamResponse:
        raw, key = await record(request)
        if key.startswith("fail"):
            return _error(int(key[4:7]), f"upstream says {key[4:7]}")
        if key == "error200":
            return web.json_response({"error": {"message": "content policy", "type": "invalid_request_error"}})
        if key == "slow":
            await asyncio.sleep(30)
        body = state.seen[-1].form or orjson.loads(raw)
        n = int(body.get("n") or 1)
        if key == "big":
            item = {"b64_json": base64.b64encode(BIG_IMAGE).decode()}
        else:
            item = {"url": f"https://img.example/{body.get('size', '1024x1024')}.png",
                    "revised_prompt": body.get("prompt")}
        return web.json_response({"created": 1, "data": [item] * n})

    async def speech(request: web.Request) -> web.StreamResponse:
        _raw, key = await record(request)
        if key.startswith("fail"):
            return _error(int(key[4:7]), f"upstream says {key[4:7]}")
        resp = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await resp.prepare(request)
        for start in range(0, len(AUDIO), 64 * 1024):
            await resp.write(AUDIO[start:start + 64 * 1024])
        await resp.write_eof()
        return resp

    async def transcribe(request: web.Request) -> web.Response:
        _raw, key = await record(request)
        if key.startswith("fail"):
            return _error(int(key[4:7]), f"upstream says {key[4:7]}")
        if key == "error200":
            return web.json_response({"error": {"message": "bad audio", "type": "invalid_request_error"}})
        body, content_type = transcript_body(str(state.seen[-1].form.get("response_format") or "json"))
        return web.Response(body=body, content_type=content_type, headers={"X-Upstream": "whisper"})

    async def rerank(request: web.Request) -> web.Response:
        raw, key = await record(request)
        if key.startswith("fail"):
            return _error(int(key[4:7]), f"upstream says {key[4:7]}")
        body = orjson.loads(raw)
        answer: dict = {"model": body.get("model"),
                        "results": [{"index": i, "relevance_score": 1 / (i + 1)}
                                    for i in range(len(body["documents"]))]}
        if key != "nousage":
            answer["usage"] = {"total_tokens": 42}
        return web.json_response(answer)

    async def chat(request: web.Request) -> web.Response:
        raw, _ = await record(request)
        body = orjson.loads(raw)
        return web.json_response({
            "id": "chatcmpl-cache", "object": "chat.completion", "created": 1, "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "cached!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020,
                      "prompt_tokens_details": {"cached_tokens": 800}}})

    async def anything(request: web.Request) -> web.Response:
        await record(request)
        key = _key(request)
        if key == "fail503":
            return web.Response(status=503, text="down", headers={"X-Proxy-Upstream": "1"})
        return web.json_response({"method": request.method, "path": request.path, "query": request.query_string},
                                 status=201 if request.method == "PUT" else 200, headers={"X-Proxy-Upstream": "1"})

    application = web.Application(client_max_size=64 * 1024 * 1024)
    application.router.add_post("/v1/images/generations", images)
    application.router.add_post("/v1/images/edits", images)
    application.router.add_post("/v1/audio/speech", speech)
    application.router.add_post("/v1/audio/transcriptions", transcribe)
    application.router.add_post("/v1/audio/translations", transcribe)
    application.router.add_post("/v1/rerank", rerank)
    application.router.add_post("/v1/chat/completions", chat)
    application.router.add_route("*", "/{tail:.*}", anything)
    return application
