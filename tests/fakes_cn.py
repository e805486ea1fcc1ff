"""A local fake of the native providers served by relay/adaptors/{baidu, spark, tencent, coze, deepl,
replicate, aiproxy}: one aiohttp server speaking each provider's wire format on its own paths, and checking
each provider's authentication the provider's way, independently of the gateway's code:

- Baidu: ``/oauth/2.0/token`` exchanges ``AK``/``SK`` for a token (counted in ``token_exchanges``; slow on
  purpose so concurrent first requests overlap); chat/embeddings refuse unknown tokens (error 110);
- Tencent: the TC3-HMAC-SHA256 ``Authorization`` is recomputed from the request as received (host,
  content-type, x-tc-action, body, timestamp); a mismatch answers ``AuthFailure.SignatureFailure``;
- Spark: the websocket URL's ``authorization`` is decoded and its HMAC recomputed over host, date and the
  request line; a mismatch refuses the handshake (401);
- Coze / Replicate / AIProxy: ``Bearer``; DeepL: ``DeepL-Auth-Key``.

Secrets the fake accepts: ``BAIDU_KEY``, ``TENCENT_KEY``, ``SPARK_KEY``, ``GOOD`` (bearer-style).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import orjson
from aiohttp import web

BAIDU_KEY = "baidu-ak|baidu-sk"
TENCENT_KEY = "1300000000|AKIDfake|tencent-secret"
SPARK_KEY = "app-1|spark-secret|spark-key"
GOOD = "good-key"
WORDS = ["你好", "，", "世界", "！"]
PROMPT_TOKENS, COMPLETION_TOKENS = 21, 13


@dataclass
class Seen:
    path: str
    query: dict
    headers: dict
    body: dict


@dataclass
class FakeCN:
    url: str = ""
    token_exchanges: int = 0
    tokens: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)
    signatures_checked: int = 0

    def last(self, path_part: str) -> Seen:
        return [s for s in self.seen if path_part in s.path][-1]


def _sse(data: dict | str, event: str | None = None) -> bytes:
    head = f"event:{event}\n".encode() if event else b""
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return head + b"data: " + payload + b"\n\n"


async def _stream(request: web.Request, frames: list[bytes]) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for frame in frames:
        await resp.write(frame)
    await resp.write_eof()
    return resp


async def _record(state: FakeCN, request: web.Request) -> dict:
    raw = await request.read()
    body = orjson.loads(raw) if raw else {}
    state.seen.append(Seen(request.path, dict(request.query), dict(request.headers), body))
    return body


# -- Baidu ---------------------------------------------------------------------------------------------------
def _baidu(state: FakeCN) -> list[web.RouteDef]:
    ak, sk = BAIDU_KEY.split("|")

    async def token(request: web.Request) -> web.Response:
        if request.query.get("grant_type") != "client_credentials" or request.query.get("client_id") != ak \
                or request.query.get("client_secret") != sk:
            return web.json_response({"error": "invalid_client", "error_description": "unknown client id"}, status=401)
        state.token_exchanges += 1
        await asyncio.sleep(0.2)  # slow: concurrent first requests must wait for this one exchange
        value = f"24.fake{state.token_exchanges}.2592000"
        state.tokens.add(value)
        return web.json_response({"access_token": value, "expires_in": 2592000, "scope": "public"})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await _record(state, request)
        if request.query.get("access_token") not in state.tokens:
            return web.json_response({"error_code": 110, "error_msg": "Access token invalid or no longer valid"})
        if request.match_info["kind"] == "embeddings":
            return web.json_response({"id": "as-e", "object": "embedding_list", "created": 1,
                                      "data": [{"object": "embedding", "embedding": [0.1, 0.2], "index": i}
                                               for i, _ in enumerate(body["input"])],
                                      "usage": {"prompt_tokens": 6, "total_tokens": 6}})
        usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                 "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
        if not body.get("stream"):
            return web.json_response({"id": "as-1", "object": "chat.completion", "created": 1, "result": "".join(WORDS),
                                      "is_truncated": False, "need_clear_history": False, "finish_reason": "normal",
                                      "usage": usage})
        frames = [_sse({"id": "as-1", "object": "chat.completion", "created": 1, "sentence_id": i,
                        "is_end": i == len(WORDS) - 1, "result": word, "finish_reason": "normal",
                        "usage": {**usage, "completion_tokens": i + 1} if i < len(WORDS) - 1 else usage})
                  for i, word in enumerate(WORDS)]
        return await _stream(request, frames)

    return [web.post("/oauth/2.0/token", token),
            web.post("/rpc/2.0/ai_custom/v1/wenxinworkshop/{kind}/{endpoint}", chat)]


# -- Tencent (TC3 recomputed here, written from Tencent's document) -------------------------------------------
def _tc3_ok(request: web.Request, raw: bytes, secret_key: str) -> bool:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("TC3-HMAC-SHA256 "):
        return False
    fields = dict(part.strip().split("=", 1) for part in auth[len("TC3-HMAC-SHA256 "):].split(","))
    _secret_id, date, service, terminator = fields["Credential"].split("/")
    timestamp = int(request.headers["X-TC-Timestamp"])
    if abs(time.time() - timestamp) > 300 or terminator != "tc3_request" or \
            datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
        return False
    names = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{n}:{request.headers[n].strip().lower()}\n" for n in names)
    canonical = (f"POST\n/\n\n{canonical_headers}\n{fields['SignedHeaders']}\n"
                 f"{hashlib.sha256(raw).hexdigest()}")
    string_to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n"
                      f"{hashlib.sha256(canonical.encode()).hexdigest()}")
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["Signature"]) and "x-tc-action" in names and service == "hunyuan"


def _tencent(state: FakeCN) -> list[web.RouteDef]:
    _, secret_id, secret_key = TENCENT_KEY.split("|")

    async def api(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = orjson.loads(raw)
        state.seen.append(Seen(request.path, dict(request.query), dict(request.headers), body))
        if f"Credential={secret_id}/" not in request.headers.get("Authorization", "") or \
                not _tc3_ok(request, raw, secret_key):
            return web.json_response({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                             "Message": "The provided credentials could not be "
                                                                        "validated."}, "RequestId": "r-bad"}})
        state.signatures_checked += 1
        usage = {"PromptTokens": PROMPT_TOKENS, "CompletionTokens": COMPLETION_TOKENS,
                 "TotalTokens": PROMPT_TOKENS + COMPLETION_TOKENS}
        if request.headers["X-TC-Action"] == "GetEmbedding":
            return web.json_response({"Response": {"Data": [{"Embedding": [0.5], "Index": i, "Object": "embedding"}
                                                            for i, _ in enumerate(body["InputList"])],
                                                   "Usage": {"PromptTokens": 4, "TotalTokens": 4}, "RequestId": "e"}})
        if not body.get("Stream"):
            return web.json_response({"Response": {"RequestId": "r-1", "Id": "r-1", "Created": 1, "Usage": usage,
                                                   "Choices": [{"FinishReason": "stop", "Message": {
                                                       "Role": "assistant", "Content": "".join(WORDS)}}]}})
        frames = [_sse({"Id": "r-2", "Created": 1, "Note": "AI", "Usage": usage,
                        "Choices": [{"Delta": {"Role": "assistant", "Content": word},
                                     "FinishReason": "stop" if i == len(WORDS) - 1 else ""}]})
                  for i, word in enumerate(WORDS)]
        return await _stream(request, frames)

    return [web.post("/", api)]


# -- Coze, DeepL, Replicate, AIProxy Library ---------------------------------------------------------------
def _bearer(request: web.Request) -> bool:
    return request.headers.get("Authorization") == f"Bearer {GOOD}"


def _others(state: FakeCN) -> list[web.RouteDef]:
    async def coze(request: web.Request) -> web.StreamResponse:
        body = await _record(state, request)
        if not _bearer(request):
            return web.json_response({"code": 4100, "msg": "authentication is invalid"})
        chat = {"id": "chat-1", "conversation_id": "conv-1", "bot_id": body["bot_id"], "status": "in_progress"}
        frames = [_sse(chat, "conversation.chat.created")]
        frames += [_sse({"id": "m-1", "role": "assistant", "type": "answer", "content": w, "content_type": "text",
                         "chat_id": "chat-1"}, "conversation.message.delta") for w in WORDS]
        frames.append(_sse({"id": "m-1", "role": "assistant", "type": "answer", "content": "".join(WORDS),
                            "content_type": "text", "chat_id": "chat-1"}, "conversation.message.completed"))
        frames.append(_sse({**chat, "status": "completed", "usage": {
            "token_count": PROMPT_TOKENS + COMPLETION_TOKENS, "output_count": COMPLETION_TOKENS,
            "input_count": PROMPT_TOKENS}}, "conversation.chat.completed"))
        frames.append(_sse('"[DONE]"', "done"))
        return await _stream(request, frames)

    async def deepl(request: web.Request) -> web.Response:
        body = await _record(state, request)
        if request.headers.get("Authorization") != f"DeepL-Auth-Key {GOOD}":
            return web.json_response({"message": "Forbidden"}, status=403)
        text = body["text"][0]
        return web.json_response({"translations": [{"detected_source_language": "EN", "text": "".join(WORDS),
                                                    "billed_characters": len(text)}]})

    async def replicate(request: web.Request) -> web.Response:
        body = await _record(state, request)
        if not _bearer(request):
            return web.json_response({"title": "Unauthenticated", "detail": "You did not pass a valid authentication "
                                      "token", "status": 401}, status=401)
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        if body.get("stream"):  # no wait: the prediction starts, its stream URL serves the output
            return web.json_response({"id": "pred-s", "model": model, "status": "starting", "output": None,
                                      "urls": {"get": "x", "stream": f"{state.url}/replicate-stream/pred-s"}},
                                     status=201)
        prediction = {"id": "pred-1", "model": model, "status": "succeeded" if request.headers.get("Prefer") == "wait"
                      else "starting", "input": body["input"], "error": None, "urls": {"get": "x"}}
        if "flux" in model:
            prediction.update(output=["https://replicate.delivery/fake/out-0.webp"], metrics={"image_count": 1})
        else:
            prediction.update(output=WORDS, metrics={"input_token_count": PROMPT_TOKENS,
                                                     "output_token_count": COMPLETION_TOKENS})
        return web.json_response(prediction, status=201)

    async def replicate_stream(request: web.Request) -> web.StreamResponse:
        state.seen.append(Seen(request.path, dict(request.query), dict(request.headers), {}))
        if not _bearer(request):
            return web.json_response({"detail": "Unauthenticated"}, status=401)
        frames = [b"event: output\nid: %d\ndata: %s\n\n" % (i, w.encode()) for i, w in enumerate(WORDS)]
        return await _stream(request, [*frames, b"event: done\ndata: {}\n\n"])

    async def library(request: web.Request) -> web.StreamResponse:
        body = await _record(state, request)
        if not _bearer(request):
            return web.json_response({"success": False, "errCode": 401, "message": "invalid token"}, status=401)
        documents = [{"title": "Doc", "url": "https://docs.example/1"}]
        if not body.get("stream"):
            return web.json_response({"success": True, "answer": "".join(WORDS), "documents": documents})
        frames = [_sse({"content": w, "finish": False, "model": body["model"], "documents": []}) for w in WORDS]
        frames.append(_sse({"content": "", "finish": True, "model": body["model"], "documents": documents}))
        return await _stream(request, frames)

    return [web.post("/v3/chat", coze), web.post("/v2/translate", deepl),
            web.post("/v1/models/{owner}/{name}/predictions", replicate), web.post("/api/library/ask", library),
            web.get("/replicate-stream/{id}", replicate_stream)]


# -- Spark (websocket; the URL signature recomputed here) ------------------------------------------------------
def _spark_ok(request: web.Request, secret: str, key: str) -> bool:
    query = request.query
    try:
        origin = base64.b64decode(query["authorization"]).decode()
        date = query["date"]
    except (KeyError, ValueError):
        return False
    fields = dict(part.strip().split("=", 1) for part in origin.split(", "))
    if fields.get("api_key") != f'"{key}"' or query.get("host") != request.host:
        return False
    if abs((datetime.now(UTC) - parsedate_to_datetime(date)).total_seconds()) > 300:
        return False
    line = f"host: {request.host}\ndate: {date}\nGET {request.path} HTTP/1.1"
    expected = base64.b64encode(hmac.new(secret.encode(), line.encode(), hashlib.sha256).digest()).decode()
    return fields.get("signature") == f'"{expected}"'


def _spark(state: FakeCN) -> list[web.RouteDef]:
    app_id, secret, key = SPARK_KEY.split("|")

    async def chat(request: web.Request) -> web.StreamResponse:
        if not _spark_ok(request, secret, key):
            return web.json_response({"message": "HMAC signature does not match"}, status=401)
        state.signatures_checked += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = orjson.loads((await ws.receive()).data)
        state.seen.append(Seen(request.path, dict(request.query), dict(request.headers), first))
        if first["header"]["app_id"] != app_id:
            await ws.send_str(orjson.dumps({"header": {"code": 11200, "message": "授权错误：该appId没有相关功能的授权",
                                                       "sid": "s", "status": 2}}).decode())
            await ws.close()
            return ws
        for i, word in enumerate(WORDS):
            last = i == len(WORDS) - 1
            frame: dict = {"header": {"code": 0, "message": "Success", "sid": "cht-1", "status": 2 if last else 1},
                           "payload": {"choices": {"status": 2 if last else 1, "seq": i,
                                                   "text": [{"content": word, "role": "assistant", "index": 0}]}}}
            if last:
                frame["payload"]["usage"] = {"text": {"question_tokens": 4, "prompt_tokens": PROMPT_TOKENS,
                                                      "completion_tokens": COMPLETION_TOKENS,
                                                      "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}}
            await ws.send_str(orjson.dumps(frame).decode())
        await ws.close()
        return ws

    return [web.get("/v3.5/chat", chat), web.get("/v1.1/chat", chat)]


@contextlib.asynccontextmanager
async def running_fake():
    state = FakeCN()
    app = web.Application()
    app.add_routes([*_baidu(state), *_tencent(state), *_others(state), *_spark(state)])
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # bound at once: no race for the port
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
