"""The Vertex AI adaptor (type 42): channel settings, the service-account JWT and its token exchange, request
conversion (Gemini and Claude publishers) on fixtures built from Google's public API docs, and errors."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors import adaptor_for
from oneapi_app.relay.adaptors.base import Call, Target
from oneapi_app.relay.adaptors.vertex import VertexAdaptor, parse_token, settings
from oneapi_app.relay.upstream import should_disable_channel
from tests.fakes_cloud import service_account, verify_jwt

FIXTURES = Path(__file__).parent / "fixtures" / "vertex"
ADAPTOR = VertexAdaptor()
TOKEN_URI = "https://oauth2.googleapis.com/token"


@pytest.fixture(scope="module")
def account() -> dict:
    return service_account(TOKEN_URI)


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _config(account: dict, **extra) -> dict:
    return {"region": "us-east5", "vertex_ai_project_id": "my-project", "vertex_ai_adc": orjson.dumps(account).decode(),
            **extra}


def _call(body: dict, stream: bool = False, kind: str = "chat") -> Call:
    return Call(kind=kind, path="/v1/chat/completions", model=body.get("model", ""), body=body,  # type: ignore[arg-type]
                raw=orjson.dumps(body), rewritten=False, stream=stream)


def test_registered_for_type_42():
    assert isinstance(adaptor_for(42), VertexAdaptor) and ADAPTOR.family == "vertex"


def test_settings_from_config_or_one_api_key(account):
    adc = orjson.dumps(account).decode()
    assert settings(Target(42, "", "", _config(account)))[:2] == ("us-east5", "my-project")
    region, project, info = settings(Target(42, "", f"europe-west1|other-project|{adc}"))
    assert (region, project, info["client_email"]) == ("europe-west1", "other-project", account["client_email"])
    assert settings(Target(42, "", adc, {"region": "us-central1"}))[:2] == ("us-central1", "test-project")
    for bad in (Target(42, "", "", {"region": "us-east5"}), Target(42, "", "not json", {"region": "x"}),
                Target(42, "", adc)):
        with pytest.raises(UpstreamFailure) as info:
            settings(bad)
        assert info.value.retryable and "vertex_ai_adc" in str(info.value.message)


def test_credential_request_is_a_signed_jwt_exchange(account):
    target = Target(42, "", "", _config(account))
    exchange = ADAPTOR.credential_request(target)
    assert exchange.request.method == "POST" and exchange.request.url == TOKEN_URI
    assert exchange.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs((exchange.request.body or b"").decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = verify_jwt(form["assertion"][0], account)
    assert claims["iss"] == account["client_email"] and claims["aud"] == TOKEN_URI
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    now = time.time()
    assert now - 1800 <= claims["iat"] <= now and claims["exp"] - claims["iat"] == 3600 and claims["exp"] > now + 1700
    # signed once per half hour, not per request (the pipeline asks on every request)
    again = parse_qs((ADAPTOR.credential_request(target).request.body or b"").decode())["assertion"][0]
    assert again == form["assertion"][0]
    # one cache key per service account, whatever the rest of the channel
    other = ADAPTOR.credential_request(Target(42, "", "", _config(account, region="europe-west4")))
    assert other.cache_key == exchange.cache_key and account["private_key"] not in exchange.cache_key
    assert ADAPTOR.credential_request(Target(42, "", "", _config(service_account(TOKEN_URI)))).cache_key \
        != exchange.cache_key


def test_token_answers():
    assert parse_token(b'{"access_token": "ya29.abc", "expires_in": 3599, "token_type": "Bearer"}') == \
        ("ya29.abc", 3599.0)
    with pytest.raises(UpstreamFailure) as info:
        parse_token((FIXTURES / "token_invalid_grant.json").read_bytes())
    assert "Invalid JWT Signature" in str(info.value.message) and should_disable_channel(info.value)
    with pytest.raises(UpstreamFailure) as info:
        parse_token(b"<html>")
    assert info.value.status == 502 and info.value.retryable


def test_unusable_private_key_is_a_clear_failure(account):
    broken = {**account, "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}
    with pytest.raises(UpstreamFailure) as info:
        ADAPTOR.credential_request(Target(42, "", "", _config(broken)))
    assert "private key" in str(info.value.message) and "nope" not in str(info.value.message)


def test_gemini_request_golden(account):
    pair = fixture("gemini_request.json")
    target = Target(42, "", "", _config(account), credential="ya29.token")
    request = ADAPTOR.build_request(target, _call(pair["openai"]))
    assert request.url == ("https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/"
                           "publishers/google/models/gemini-1.5-pro-002:generateContent")
    assert request.headers["Authorization"] == "Bearer ya29.token"
    assert orjson.loads(request.body or b"") == pair["vertex"]
    streamed = ADAPTOR.build_request(target, _call(pair["openai"], stream=True))
    assert streamed.url.endswith("/models/gemini-1.5-pro-002:streamGenerateContent?alt=sse")


def test_claude_request_golden(account):
    pair = fixture("claude_request.json")
    target = Target(42, "http://127.0.0.1:9/", "", _config(account), credential="ya29.token")
    request = ADAPTOR.build_request(target, _call(pair["openai"], stream=True))
    assert request.url == ("http://127.0.0.1:9/v1/projects/my-project/locations/us-east5/publishers/anthropic/"
                           "models/claude-3-5-sonnet-v2@20241022:streamRawPredict")
    assert orjson.loads(request.body or b"") == pair["vertex"]
    plain = ADAPTOR.build_request(target, _call(pair["openai"]))
    assert plain.url.endswith(":rawPredict") and "stream" not in orjson.loads(plain.body or b"")


def test_anthropic_names_map_to_vertex_names(account):
    from oneapi_app.relay.adaptors.vertex import vertex_model

    assert vertex_model("claude-3-5-sonnet-20240620") == "claude-3-5-sonnet@20240620"
    assert vertex_model("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet-v2@20241022"
    assert vertex_model("claude-sonnet-4-20250514") == "claude-sonnet-4@20250514"
    assert vertex_model("claude-3-haiku@20240307") == "claude-3-haiku@20240307"
    assert vertex_model("gemini-2.0-flash-001") == "gemini-2.0-flash-001"
    target = Target(42, "", "", _config(account), credential="t")
    request = ADAPTOR.build_request(target, _call({"model": "claude-opus-4-20250514", "messages": [
        {"role": "user", "content": "hi"}]}))
    assert request.url.endswith("/publishers/anthropic/models/claude-opus-4@20250514:rawPredict")


def test_reasoning_effort_maps_to_gemini_thinking(account):
    target = Target(42, "", "", _config(account), credential="t")
    body = {"model": "gemini-2.5-flash", "reasoning_effort": "medium", "messages": [{"role": "user", "content": "hi"}]}
    sent = orjson.loads(ADAPTOR.build_request(target, _call(body)).body or b"")
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192, "includeThoughts": True}
    sent = orjson.loads(ADAPTOR.build_request(target, _call({**body, "model": "gemini-2.0-flash-001"})).body or b"")
    assert "generationConfig" not in sent


def test_global_region_and_other_kinds(account):
    target = Target(42, "", "", _config(account, region="global"), credential="t")
    request = ADAPTOR.build_request(target, _call({"model": "gemini-2.5-pro",
                                                   "messages": [{"role": "user", "content": "hi"}]}))
    assert request.url.startswith("https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/")
    embeddings = ADAPTOR.build_request(target, _call({"model": "text-embedding-005", "input": "x"}, kind="embeddings"))
    assert embeddings.url.endswith("/publishers/google/models/text-embedding-005:predict")  # served since
    with pytest.raises(UpstreamFailure) as info:
        ADAPTOR.build_request(target, _call({"model": "omni-moderation-latest", "input": "x"}, kind="moderations"))
    assert info.value.status == 501 and info.value.retryable


def test_errors_map_to_openai_objects():
    denied = ADAPTOR.map_error(403, (FIXTURES / "error_permission.json").read_bytes())
    assert denied.status == 403 and (denied.body or {})["type"] == "permission_error"
    quota = ADAPTOR.map_error(429, (FIXTURES / "error_quota.json").read_bytes())
    assert quota.retryable and "Quota exceeded" in quota.message and not should_disable_channel(quota)
    overloaded = ADAPTOR.map_error(529, (FIXTURES / "error_overloaded.json").read_bytes())
    assert overloaded.retryable and (overloaded.body or {})["type"] == "overloaded_error"


def test_a_refused_access_token_does_not_disable_the_channel():
    body = b'{"error": {"code": 401, "message": "Request had invalid authentication credentials.", ' \
           b'"status": "UNAUTHENTICATED"}}'
    failure = ADAPTOR.map_error(401, body)
    assert failure.status == 502 and failure.retryable and not should_disable_channel(failure)
    assert "invalid authentication" in failure.message
