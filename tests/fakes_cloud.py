"""Test helpers for the cloud adaptors (AWS Bedrock, Vertex AI), written from the providers' public specs and
independent of the code under test:

- ``event_message``: one AWS event-stream message (prelude, string headers, payload, both CRC32s), built by
  hand per the spec (application/vnd.amazon.eventstream);
- ``sigv4_signature`` / ``verify_sigv4``: AWS Signature Version 4 recomputed with hashlib/hmac alone (checked
  against AWS's published ``get-vanilla`` test vector), so a fake Bedrock verifies what actually reached it;
- ``service_account``: a throw-away RSA service account (Google's JSON key shape) and ``verify_jwt``, which
  checks an RS256 assertion against its public key with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import socket
import struct
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson
from aiohttp import web


# -- AWS event stream -----------------------------------------------------------------------------------
def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event(kind: str, data: dict) -> bytes:
    """A ConverseStream event message (AWS pads events with a ``p`` field: kept here too)."""
    return event_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                         orjson.dumps({**data, "p": "abcdefgh"}))


def chunk(anthropic_event: dict) -> bytes:
    """An invoke-with-response-stream ``chunk``: one Anthropic stream event, base64 in ``bytes``."""
    encoded = base64.b64encode(orjson.dumps(anthropic_event)).decode()
    return event("chunk", {"bytes": encoded})


def exception(kind: str, message: str) -> bytes:
    return event_message({":exception-type": kind, ":content-type": "application/json",
                          ":message-type": "exception"}, orjson.dumps({"message": message}))


# -- SigV4 ----------------------------------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_signature(method: str, raw_path: str, query: str, headers: dict[str, str], signed: list[str],
                    body: bytes, amz_date: str, secret: str, region: str, service: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_query = "&".join(sorted(q for q in query.split("&") if q))
    canonical_headers = "".join(f"{h}:{' '.join(lowered[h].split())}\n" for h in signed)
    canonical = "\n".join([method, quote(raw_path, safe="/~"), canonical_query, canonical_headers, ";".join(signed),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify_sigv4(method: str, raw_path: str, headers: dict[str, str], body: bytes, access_key: str, secret: str,
                 region: str, service: str = "bedrock", session_token: str | None = None) -> str:
    """'' when the request's Authorization is a valid SigV4 signature of it, else what is wrong. With a
    ``session_token`` (temporary credentials), the request must carry it as X-Amz-Security-Token, signed."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    amz_date = headers.get("X-Amz-Date", "")
    if fields.get("Credential") != f"{access_key}/{amz_date[:8]}/{region}/{service}/aws4_request":
        return f"wrong credential scope {fields.get('Credential')}"
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    sent_token = next((v for k, v in headers.items() if k.lower() == "x-amz-security-token"), None)
    if session_token is not None:
        if sent_token is None:
            return "no X-Amz-Security-Token header"
        if "x-amz-security-token" not in signed:
            return "x-amz-security-token must be signed"
        if not hmac.compare_digest(sent_token, session_token):
            return "wrong session token"
    elif sent_token is not None:
        return "unexpected X-Amz-Security-Token header"
    path, _, query = raw_path.partition("?")
    expected = sigv4_signature(method, path, query, headers, signed, body, amz_date, secret, region, service)
    return "" if hmac.compare_digest(expected, fields.get("Signature", "")) else "signature mismatch"


# -- Google service account -----------------------------------------------------------------------------
def service_account(token_uri: str, project: str = "test-project") -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": project, "private_key_id": "test-key-1", "private_key": pem,
            "client_email": f"relay@{project}.iam.gserviceaccount.com", "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "universe_domain": "googleapis.com"}


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_jwt(assertion: str, info: dict) -> dict:
    """The claims of an RS256 JWT signed by the service account ``info`` (raises when the signature is bad)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signature = assertion.split(".")
    if orjson.loads(_b64(header)).get("alg") != "RS256":
        raise ValueError("not RS256")
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    private.public_key().verify(_b64(signature), f"{header}.{claims}".encode(),  # type: ignore[union-attr,call-arg]
                                padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
    return orjson.loads(_b64(claims))


# -- fake upstreams -------------------------------------------------------------------------------------
# Both speak their provider's wire format and check its authentication on every request; what they saw is
# in ``state.seen`` (path, headers, JSON body).
TEST_AK, TEST_SK, TEST_REGION = "AKIDTESTCLOUDPROV", "test/Secret+Key/For/The/Fake/Bedrock00", "us-east-1"
# temporary credentials (STS): their own access key id, secret and session token (the shape STS issues)
TEST_TEMP_AK, TEST_TEMP_SK = "ASIATESTCLOUDTEMP0001", "temp/Secret+Key/For/The/Fake/Bedrock0"
TEST_SESSION_TOKEN = ("IQoJb3JpZ2luX2VjEFAKEaCXVzLWVhc3QtMSJHMEUCIQDfakeSessionTokenForTheFakeBedrock+0123456789/"
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ==")
REPLY = ["Hello", " from", " the", " cloud", "."]


@dataclass
class CloudState:
    url: str = ""
    seen: list[dict] = field(default_factory=list)
    exchanges: int = 0  # Vertex: token exchanges made
    tokens: set[str] = field(default_factory=set)
    exchange_delay: float = 0.0
    rejected: list[str] = field(default_factory=list)  # why requests were refused (bad signature, bad token)


def anthropic_events(model: str, text_parts: list[str], input_tokens: int = 25) -> list[dict]:
    events: list[dict] = [
        {"type": "message_start", "message": {"id": "msg_cloud_1", "type": "message", "role": "assistant",
                                              "model": model, "content": [], "stop_reason": None,
                                              "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                                                        "cache_read_input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
               for t in text_parts]
    events += [{"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(text_parts)}},
               {"type": "message_stop"}]
    return events


def anthropic_answer(model: str) -> dict:
    return {"id": "msg_cloud_2", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": "".join(REPLY)}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 30, "output_tokens": 6, "cache_read_input_tokens": 10,
                      "cache_creation_input_tokens": 0}}


# What the fake's model answers through a forced tool other than top_song (response_format json_schema).
FORCED_TOOL_INPUT = {"city": "Paris", "temperature_c": 21.5}


def forced_tool(body: dict) -> str:
    """The tool the request forces (toolChoice {"tool": {"name"}}), unless it is the client tool top_song."""
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    name = (choice.get("tool") or {}).get("name") or ""
    return "" if name == "top_song" else name


def converse_answer(body: dict) -> dict:
    if forced_tool(body):
        return {"output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "tooluse_forced_1", "name": forced_tool(body), "input": FORCED_TOOL_INPUT}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 50, "outputTokens": 11, "totalTokens": 61},
            "metrics": {"latencyMs": 5}}
    if body.get("toolConfig"):
        content: list[dict] = [{"toolUse": {"toolUseId": "tooluse_fake_1", "name": "top_song",
                                            "input": {"sign": "WZPZ"}}}]
        stop = "tool_use"
    else:
        content, stop = [{"text": "".join(REPLY)}], "end_turn"
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": {"inputTokens": 40, "outputTokens": 7, "totalTokens": 47}, "metrics": {"latencyMs": 5}}


def converse_stream(body: dict, break_midway: bool = False) -> list[bytes]:
    """ConverseStream messages, cut into network chunks that split messages (and a tool call's JSON)."""
    messages = [event("messageStart", {"role": "assistant"})]
    if forced_tool(body):  # a forced tool's input, its JSON split across events (the model writes no text)
        text = orjson.dumps(FORCED_TOOL_INPUT).decode()
        messages += [event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {
            "toolUseId": "tooluse_forced_s1", "name": forced_tool(body)}}})]
        messages += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": text[i:i + 7]}}})
                     for i in range(0, len(text), 7)]
        messages += [event("contentBlockStop", {"contentBlockIndex": 0}), event("messageStop", {"stopReason": "tool_use"}),
                     event("metadata", {"usage": {"inputTokens": 50, "outputTokens": 11, "totalTokens": 61}})]
        data = b"".join(messages)
        return [data[i:i + 37] for i in range(0, len(data), 37)]
    messages += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in REPLY]
    messages.append(event("contentBlockStop", {"contentBlockIndex": 0}))
    if body.get("toolConfig"):
        messages += [
            event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_s1",
                                                                                      "name": "top_song"}}}),
            event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"sign\": "}}}),
            event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"WZPZ\"}"}}}),
            event("contentBlockStop", {"contentBlockIndex": 1})]
    if break_midway:
        return [b"".join(messages[:3]), exception("modelStreamErrorException", "The model stream broke.")]
    stop = "tool_use" if body.get("toolConfig") else "end_turn"
    messages += [event("messageStop", {"stopReason": stop}),
                 event("metadata", {"usage": {"inputTokens": 40, "outputTokens": 9, "totalTokens": 49},
                                    "metrics": {"latencyMs": 5}})]
    data = b"".join(messages)
    return [data[i:i + 37] for i in range(0, len(data), 37)]  # 37-byte network chunks: frames split anywhere


async def _serve(app: web.Application, state: CloudState):
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.url = f"http://127.0.0.1:{port}"
    return runner


@asynccontextmanager
async def fake_bedrock():
    """Bedrock Runtime: every request's SigV4 signature is recomputed with TEST_AK/TEST_SK (403 when wrong),
    or, for the temporary access key TEST_TEMP_AK, with TEST_TEMP_SK and a signed X-Amz-Security-Token that
    must be TEST_SESSION_TOKEN (403 ``The security token included in the request is invalid`` otherwise, as
    AWS answers); /model/{id}/invoke[-with-response-stream] speak Claude, /converse[-stream] the Converse API.
    A model id containing ``midbreak`` breaks its stream with an exception message; ``throttled`` answers
    429; ``echotoken`` answers 400 quoting the session token it got (an upstream that echoes a secret)."""
    state = CloudState()

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        headers = dict(request.headers)
        temporary = f"Credential={TEST_TEMP_AK}/" in headers.get("Authorization", "")
        problem = verify_sigv4(request.method, request.raw_path, headers, raw, *(
            (TEST_TEMP_AK, TEST_TEMP_SK, TEST_REGION, "bedrock", TEST_SESSION_TOKEN) if temporary else
            (TEST_AK, TEST_SK, TEST_REGION)))
        model, action = request.match_info["model"], request.match_info["action"]
        state.seen.append({"path": request.raw_path, "model": model, "action": action, "headers": headers,
                           "json": orjson.loads(raw) if raw else None})
        if problem:
            state.rejected.append(problem)
            if "token" in problem.lower():
                return web.json_response({"message": "The security token included in the request is invalid."},
                                         status=403, headers={"x-amzn-ErrorType": "UnrecognizedClientException"})
            return web.json_response({"message": "The request signature we calculated does not match the signature "
                                                 "you provided. Check your AWS Secret Access Key and signing method."},
                                     status=403, headers={"x-amzn-ErrorType": "InvalidSignatureException"})
        if "echotoken" in model:
            sent = headers.get("X-Amz-Security-Token", "")
            return web.json_response({"message": f"Malformed input request: token {sent} is not accepted here"},
                                     status=400, headers={"x-amzn-ErrorType": "ValidationException"})
        if "throttled" in model:
            return web.json_response({"message": "Too many requests, please wait before trying again."}, status=429)
        body = orjson.loads(raw)
        if action == "invoke":
            return web.json_response(anthropic_answer(model))
        if action == "converse":
            return web.json_response(converse_answer(body))
        resp = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream"})
        await resp.prepare(request)
        if action == "invoke-with-response-stream":
            events = anthropic_events(model, REPLY)
            events[-1]["amazon-bedrock-invocationMetrics"] = {"inputTokenCount": 25, "outputTokenCount": len(REPLY),
                                                              "invocationLatency": 10, "firstByteLatency": 5}
            pieces = [chunk(e) for e in events]
        else:
            pieces = converse_stream(body, break_midway="midbreak" in model)
        for piece in pieces:
            await resp.write(piece)
            if "midbreak" in model:
                await asyncio.sleep(0.05)  # the break comes in a later read than the text before it
        return resp

    app = web.Application()
    app.router.add_post("/model/{model}/{action}", handle)
    runner = await _serve(app, state)
    try:
        yield state
    finally:
        await runner.cleanup()


def gemini_answer(text: str) -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 5, "thoughtsTokenCount": 3,
                              "totalTokenCount": 19}, "responseId": "vertex-r1"}


@asynccontextmanager
async def fake_vertex(account_holder: list[dict]):
    """Vertex AI and Google's token endpoint (``/token``): the JWT assertion is checked against the service
    account's public key (account_holder[0], set once the URL is known), each exchange counted; model calls
    need a token it issued. Gemini (``publishers/google``) and Claude (``publishers/anthropic``)."""
    state = CloudState()

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        try:
            claims = verify_jwt(str(form.get("assertion")), account_holder[0])
        except Exception as exc:  # noqa: BLE001 - any failure is a refused assertion
            state.rejected.append(f"bad assertion: {type(exc).__name__}")
            return web.json_response({"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                     status=400)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or \
                claims.get("aud") != f"{state.url}/token" or claims.get("iss") != account_holder[0]["client_email"]:
            state.rejected.append("bad grant")
            return web.json_response({"error": "invalid_grant"}, status=400)
        state.exchanges += 1
        await asyncio.sleep(state.exchange_delay)
        issued = f"ya29.fake-{state.exchanges}"
        state.tokens.add(issued)
        return web.json_response({"access_token": issued, "expires_in": 3599, "token_type": "Bearer"})

    async def predict(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        info = request.match_info
        model, _, action = info["rest"].partition(":")
        state.seen.append({"path": request.path, "query": request.query_string, "publisher": info["publisher"],
                           "model": model, "action": action, "headers": dict(request.headers),
                           "json": orjson.loads(raw), "project": info["project"], "region": info["region"]})
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in state.tokens:
            state.rejected.append("unknown token")
            return web.json_response({"error": {"code": 401, "message": "Request had invalid authentication "
                                                "credentials.", "status": "UNAUTHENTICATED"}}, status=401)
        if action == "predict":  # embeddings: one prediction per instance, its token count in statistics
            body = orjson.loads(raw)
            return web.json_response({"predictions": [
                {"embeddings": {"values": [0.5, float(len(i["content"]))],
                                "statistics": {"token_count": len(i["content"].split()), "truncated": False}}}
                for i in body["instances"]], "metadata": {"billableCharacterCount": 10}})
        if action in ("generateContent", "rawPredict"):
            if info["publisher"] == "anthropic":
                return web.json_response(anthropic_answer(model))
            return web.json_response(gemini_answer("".join(REPLY)))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if info["publisher"] == "anthropic":
            for e in anthropic_events(model, REPLY):
                await resp.write(f"event: {e['type']}\n".encode() + b"data: " + orjson.dumps(e) + b"\n\n")
        else:
            for i, word in enumerate(REPLY):
                piece: dict = {"candidates": [{"content": {"role": "model", "parts": [{"text": word}]}, "index": 0}],
                               "responseId": "vertex-s1"}
                if i == len(REPLY) - 1:
                    piece["candidates"][0]["finishReason"] = "STOP"
                    piece["usageMetadata"] = {"promptTokenCount": 9, "candidatesTokenCount": 5,
                                              "totalTokenCount": 14}
                await resp.write(b"data: " + orjson.dumps(piece) + b"\r\n\r\n")
        return resp

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{rest}", predict)
    runner = await _serve(app, state)
    try:
        yield state
    finally:
        await runner.cleanup()
