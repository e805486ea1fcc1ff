"""The Vertex AI adaptor: channel type 42, family ``vertex``.

Channel fields (one-api's names): config ``region`` (e.g. ``us-east5``, or ``global``),
``vertex_ai_project_id`` and ``vertex_ai_adc`` (the service account's JSON key). A channel saved by one-api's
editor also holds them in its key as ``region|project|adc``; a key that is the JSON itself works too (then
the project defaults to the service account's ``project_id``).

Credentials: a JWT signed with the service account's private key (RS256, google-auth, imported on the first
Vertex request) is exchanged at its ``token_uri`` for an OAuth access token
(``credential_request``); the pipeline caches that token until it expires, one exchange per service account
under concurrency, and hands it to ``build_request`` as ``target.credential`` (``Authorization: Bearer``).

Models: ``claude*`` (Vertex's ``claude-3-5-sonnet@20240620`` names, or Anthropic's dated names, mapped to
them) go to ``publishers/anthropic/models/{model}:rawPredict`` (``:streamRawPredict``) with the
Messages body (bedrock_claude.py: ``anthropic_version: vertex-2023-10-16``, no model field) and come back
through the Anthropic adaptor; every other model (Gemini) goes to
``publishers/google/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse``) with the Gemini
body and comes back through the Gemini adaptor.

Embeddings (``text-embedding-004``, ``text-multilingual-embedding-002``, ``gemini-embedding-001``...):
``publishers/google/models/{model}:predict`` with one ``instances`` item per input text (``dimensions`` ->
``parameters.outputDimensionality``); the answer's ``predictions[].embeddings.values`` become OpenAI's
list and their ``statistics.token_count`` the usage. Other kinds get a retryable 501.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from urllib.parse import urlencode

import orjson

from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer, EventDecoder
from ..upstream import UpstreamRequest
from . import gemini
from .anthropic import AnthropicAdaptor, anthropic_failure
from .base import Call, CredentialRequest, Parsed, Target, Usage, not_supported, try_object, unreadable_answer
from .bedrock_claude import VERTEX_VERSION, claude_body
from .gemini_convert import chat_request, gemini_thinking

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
ASSERTION_LIFETIME = 3600  # seconds: Google's maximum for a JWT assertion
ASSERTION_REUSE = 1800  # seconds one signed assertion is reused
_ANTHROPIC = AnthropicAdaptor()
_GEMINI = gemini.GeminiAdaptor()


def _no_credentials() -> UpstreamFailure:
    return UpstreamFailure(msg("relay.vertex_no_credentials"), status=500, retryable=True,
                           code="channel_config_invalid", type="one_api_error")


def settings(target: Target) -> tuple[str, str, dict]:
    """(region, project id, service account info) of a channel, or a clear error."""
    config = target.config if isinstance(target.config, dict) else {}
    region = str(config.get("region") or "").strip()
    project = str(config.get("vertex_ai_project_id") or "").strip()
    adc = str(config.get("vertex_ai_adc") or "").strip()
    key = (target.key or "").strip()
    if not adc and key:
        if key.startswith("{"):
            adc = key
        else:  # one-api's editor: region|project|adc
            parts = key.split("|", 2)
            if len(parts) == 3:
                region, project, adc = region or parts[0].strip(), project or parts[1].strip(), parts[2].strip()
    try:
        info = orjson.loads(adc) if adc else None
    except orjson.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or not info.get("private_key") or not info.get("client_email"):
        raise _no_credentials()
    project = project or str(info.get("project_id") or "")
    if not region or not project:
        raise _no_credentials()
    return region, project, info


def is_claude(model: str) -> bool:
    return model.startswith("claude")


_DATED = re.compile(r"^(claude-[a-z0-9.-]+?)-(\d{8})$")
_VERTEX_NAMES = {"claude-3-5-sonnet-20241022": "claude-3-5-sonnet-v2@20241022",
                 "claude-3-5-sonnet-latest": "claude-3-5-sonnet-v2@20241022"}


def vertex_model(model: str) -> str:
    """Vertex spells Claude versions with ``@`` (``claude-3-5-sonnet@20240620``): Anthropic's dated names are
    accepted too and mapped; every other name is used as it is."""
    if model in _VERTEX_NAMES:
        return _VERTEX_NAMES[model]
    dated = _DATED.match(model)
    return f"{dated.group(1)}@{dated.group(2)}" if dated else model


def request_url(target: Target, region: str, project: str, call: Call) -> str:
    if target.base_url:
        base = target.base_url.rstrip("/")
    elif region == "global":
        base = "https://aiplatform.googleapis.com"
    else:
        base = f"https://{region}-aiplatform.googleapis.com"
    if call.kind == "embeddings":
        publisher, action = "google", "predict"
    elif is_claude(call.model):
        publisher, action = "anthropic", "streamRawPredict" if call.stream else "rawPredict"
    else:
        publisher, action = "google", "streamGenerateContent?alt=sse" if call.stream else "generateContent"
    model = vertex_model(call.model)
    return f"{base}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{action}"


def embeddings_body(body: dict) -> dict:
    """OpenAI's embeddings request -> Vertex's ``:predict`` body (texts only: token arrays are a clear 400)."""
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise UpstreamFailure(msg("relay.vertex_embedding_input"), status=400, retryable=False,
                              code="invalid_request", type="invalid_request_error")
    out: dict = {"instances": [{"content": t} for t in texts]}
    dimensions = body.get("dimensions")
    if isinstance(dimensions, int) and not isinstance(dimensions, bool) and dimensions > 0:
        out["parameters"] = {"outputDimensionality": dimensions}
    return out


def embeddings_answer(call: Call, body: bytes) -> Parsed:
    """``{"predictions": [{"embeddings": {"values", "statistics": {"token_count"}}}]}`` -> OpenAI's list."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise unreadable_answer() from None
    predictions = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(predictions, list):
        raise unreadable_answer("the upstream answered embeddings without predictions")
    items, tokens = [], 0
    for i, prediction in enumerate(predictions):
        raw = prediction.get("embeddings") if isinstance(prediction, dict) else None
        found: dict = raw if isinstance(raw, dict) else {}
        statistics = found.get("statistics")
        count = statistics.get("token_count") if isinstance(statistics, dict) else None
        tokens += int(count) if isinstance(count, int | float) and not isinstance(count, bool) else 0
        items.append({"object": "embedding", "index": i, "embedding": found.get("values") or []})
    answer = {"object": "list", "model": call.model, "data": items,
              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return Parsed(orjson.dumps(answer), Usage(tokens, 0) if tokens else None, "")


def assertion(info: dict, now: float | None = None) -> str:
    """The service account's signed JWT (RS256) asking for a cloud-platform access token.

    The pipeline asks for the exchange on every request (it is served from its cache but for the first):
    the assertion is signed once per half hour and reused (issued at the window's start, valid one hour,
    so at least half an hour left when used), so the RSA signature is not paid per request."""
    window = int((time.time() if now is None else now) // ASSERTION_REUSE)
    return _signed(str(info["client_email"]), str(info["private_key"]),
                   str(info.get("token_uri") or DEFAULT_TOKEN_URI), str(info.get("private_key_id") or ""), window)


@functools.lru_cache(maxsize=64)
def _signed(email: str, private_key: str, token_uri: str, key_id: str, window: int) -> str:
    from google.auth import crypt, jwt

    issued = window * ASSERTION_REUSE
    signer = crypt.RSASigner.from_string(private_key, key_id or None)
    payload = {"iss": email, "scope": SCOPE, "aud": token_uri, "iat": issued, "exp": issued + ASSERTION_LIFETIME}
    return jwt.encode(signer, payload).decode()


def token_failure(detail: str, status: int = 401) -> UpstreamFailure:
    """A refused exchange (bad key, disabled or deleted account: invalid_grant) disables the channel."""
    message = msg("relay.vertex_token_failed", detail=detail)
    kind = "authentication_error" if status in (400, 401, 403) else "upstream_error"
    return UpstreamFailure(message, status=status, retryable=status >= 500,
                           body={"message": str(message), "type": kind, "param": "", "code": "vertex_token_failed"})


def parse_token(body: bytes) -> tuple[str, float]:
    """The token endpoint's answer -> (access token, lifetime in seconds)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise token_failure("the token endpoint answered a body that is not JSON", 502) from None
    if not isinstance(data, dict):
        raise token_failure("the token endpoint answered JSON that is not an object", 502)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        detail = data.get("error_description") or data.get("error") or "no access_token in the answer"
        raise token_failure(str(detail))
    lifetime = data.get("expires_in")
    return token, float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 3600.0


class VertexAdaptor:
    name = "vertex"
    family = "vertex"

    def credential_request(self, target: Target) -> CredentialRequest:
        _, _, info = settings(target)
        key = hashlib.sha256(f"{info['client_email']}\n{info['private_key']}".encode()).hexdigest()[:32]
        try:
            signed = assertion(info)
        except (ValueError, TypeError, IndexError) as exc:  # a private key google-auth cannot read
            raise token_failure(f"the service account's private key is unusable ({type(exc).__name__})", 400) from None
        body = urlencode({"grant_type": GRANT_TYPE, "assertion": signed}).encode()
        request = UpstreamRequest("POST", str(info.get("token_uri") or DEFAULT_TOKEN_URI),
                                  {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                                  body)
        return CredentialRequest(f"vertex:{key}", request, parse_token)

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind not in ("chat", "embeddings") or (call.kind == "embeddings" and is_claude(call.model)):
            raise not_supported(msg("relay.vertex_no_endpoint", kind=call.kind))
        region, project, _ = settings(target)
        if call.kind == "embeddings":
            body = embeddings_body(call.body)
        elif is_claude(call.model):
            body = claude_body(call.body, call.model, VERTEX_VERSION, stream=call.stream)
        else:
            body = chat_request(call.body, target.provider.gemini_safety_setting)
            thinking = gemini_thinking(call.body, call.model)
            if thinking is not None:
                body.setdefault("generationConfig", {})["thinkingConfig"] = thinking
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {target.credential}",
                   "Accept": "text/event-stream" if call.stream else "application/json"}
        return UpstreamRequest("POST", request_url(target, region, project, call), headers, orjson.dumps(body))

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        if is_claude(call.model):
            return _ANTHROPIC.parse_answer(call, body, content_type)
        return _GEMINI.parse_answer(call, body, content_type)

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        """Embeddings (chat goes through parse_answer)."""
        if call.kind != "embeddings":
            raise not_supported(msg("relay.vertex_no_endpoint", kind=call.kind))
        return embeddings_answer(call, body)

    def stream_translator(self, call: Call, client_wants_usage: bool):
        raise not_supported(msg("relay.vertex_no_endpoint", kind=call.kind))

    def decoder(self, call: Call) -> EventDecoder:
        if is_claude(call.model):
            return _ANTHROPIC.decoder(call)
        return _GEMINI.decoder(call)

    def frame_reader(self) -> None:
        return None  # both publishers stream SSE

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        """Google's error object (the platform: auth, quota, model not found) or Anthropic's (the model). A 401
        refuses the access token, not the service account: it does not disable the channel (a refused
        service account fails the token exchange instead)."""
        data = try_object(body)
        if data is not None and data.get("type") == "error":
            return anthropic_failure(status, data)
        failure = gemini.map_error(status, body)
        if status == 401:  # the access token was refused (revoked early): the pipeline renews it, the channel stays
            failure.status, failure.retryable = 502, True  # (a 401 would disable it)
            if failure.body is not None:
                failure.body = {**failure.body, "type": "upstream_error", "code": "access_token_refused"}
        return failure
