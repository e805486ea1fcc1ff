"""Images, audio and rerank end to end with the official openai SDK (raw httpx for rerank) through a real
server against a local fake upstream: the answers, the bytes forwarded, the errors and exact billing."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from oneapi_app.relay import token_count

from . import media_fake
from .conftest import add_channel, add_token, add_user, logs, row, sdk

START = 1_000_000



async def books(runtime, key: str) -> tuple[dict, list[dict]]:
    entries = await logs(runtime)
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert sum(e["quota"] for e in entries) == token["used_quota"]
    return token, entries


async def test_images_generate_and_edit_bill_size_quality_and_n(runtime, gateway, media_upstream):
    channel_id = await add_channel(runtime, media_upstream.url, models="dall-e-2,dall-e-3")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)

    answer = await client.images.generate(model="dall-e-3", prompt="a red fox", size="1024x1792", quality="hd")
    assert answer.data[0].url == "https://img.example/1024x1792.png"
    assert media_upstream.seen[-1].headers["Authorization"] == "Bearer ok"

    edit = await client.images.edit(model="dall-e-2", image=("fox.png", b"\x89PNG fake bytes", "image/png"),
                                    prompt="add a hat", n=2, size="512x512")
    assert len(edit.data) == 2 and edit.data[0].revised_prompt == "add a hat"
    seen = media_upstream.seen[-1]
    assert seen.path == "/v1/images/edits" and seen.form["image"] == b"\x89PNG fake bytes"
    assert seen.form["model"] == "dall-e-2" and seen.form["n"] == "2"

    token, entries = await books(runtime, key)
    # dall-e-3 ratio 20 x size 2 x hd 1.5 x 1000 = 60000; dall-e-2 ratio 10 x 1.125 x 1000 x n 2 = 22500
    assert [e["quota"] for e in entries] == [60000, 22500]
    assert token["used_quota"] == 82500
    assert entries[0]["model_name"] == "dall-e-3" and "1024x1792 hd × 1" in entries[0]["content"]
    assert all(e["channel_id"] == channel_id for e in entries)


async def test_image_rules_and_errors_refund(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="dall-e-2,dall-e-3")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(model="dall-e-3", prompt="x", n=2)
    assert info.value.body["code"] == "n_not_within_range"
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(model="dall-e-2", prompt="x", size="1792x1024")
    assert info.value.body["code"] == "size_not_supported"
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(model="dall-e-2", prompt="x" * 1001)
    assert info.value.body["code"] == "prompt_too_long"
    async with httpx.AsyncClient() as raw:
        resp = await raw.post(f"{gateway}/v1/images/generations", json={"model": "dall-e-2"},
                              headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "prompt_missing"
        # a multipart edit without its image file, and a body that is not multipart at all
        resp = await raw.post(f"{gateway}/v1/images/edits", data={"prompt": "x"}, files={"mask": ("m.png", b"m")},
                              headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "file_missing"
        resp = await raw.post(f"{gateway}/v1/images/edits", json={"prompt": "x"},
                              headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_multipart_body"
        resp = await raw.post(f"{gateway}/v1/images/edits", content=b"--abc\r\nbroken",
                              headers={"Authorization": f"Bearer sk-{key}",
                                       "Content-Type": "multipart/form-data; boundary=abc"})
        assert resp.status_code == 400 and "multipart" in resp.json()["error"]["message"]
    await add_channel(runtime, media_upstream.url, key="fail500", models="dall-e-x")
    with pytest.raises(openai.InternalServerError) as failed:
        await client.images.generate(model="dall-e-x", prompt="x")
    assert failed.value.body["message"].startswith("upstream says 500")
    await add_channel(runtime, media_upstream.url, key="error200", models="dall-e-y")
    with pytest.raises(openai.InternalServerError):
        await client.images.generate(model="dall-e-y", prompt="x")
    token, entries = await books(runtime, key)
    assert entries == [] and token["used_quota"] == 0


async def test_large_image_answer_streams_through(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, key="big", models="dall-e-2")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    answer = await sdk(gateway, key).images.generate(model="dall-e-2", prompt="big", n=3, response_format="b64_json")
    assert len(answer.data) == 3 and len(answer.data[0].b64_json) > 1_000_000
    token, entries = await books(runtime, key)
    assert token["used_quota"] == 12500 * 3 == entries[0]["quota"]


async def test_speech_streams_audio_and_bills_characters(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="tts-1")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    text = "Hello, this is the gateway speaking."
    async with sdk(gateway, key).audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=text) as resp:
        assert resp.headers["content-type"] == "audio/mpeg"
        audio = b"".join([chunk async for chunk in resp.iter_bytes()])
    assert audio == media_fake.AUDIO
    assert media_fake.orjson.loads(media_upstream.seen[-1].raw)["input"] == text
    _token, [entry] = await books(runtime, key)
    assert entry["quota"] == -(-len(text) * 15 // 2)  # ceil(characters x 7.5)
    assert entry["prompt_tokens"] == len(text)
    with pytest.raises(openai.BadRequestError) as info:
        await sdk(gateway, key).audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097)
    assert info.value.body["code"] == "text_too_long"


@pytest.mark.parametrize("response_format", ["json", "text", "srt", "vtt", "verbose_json"])
async def test_transcriptions_pass_formats_through_and_bill_the_transcript(runtime, gateway, media_upstream,
                                                                         response_format):
    await add_channel(runtime, media_upstream.url, models="whisper-1")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    wav = media_fake.small_wav()
    answer = await sdk(gateway, key).audio.transcriptions.create(model="whisper-1", file=("a.wav", wav, "audio/wav"),
                                                                 response_format=response_format)
    expected, _ = media_fake.transcript_body(response_format)
    if response_format in ("json", "verbose_json"):
        assert answer.text == media_fake.TRANSCRIPT
    else:
        assert answer == expected.decode()
    seen = media_upstream.seen[-1]
    assert seen.form["file"] == wav and seen.form["response_format"] == response_format
    tokens = token_count.count_text(media_fake.TRANSCRIPT, "whisper-1")
    _token, [entry] = await books(runtime, key)
    assert entry["quota"] == tokens * 15 and entry["completion_tokens"] == tokens


async def test_translation_mapped_model_is_spliced_and_forwarded_unchanged(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="whisper-1", model_mapping='{"whisper-1": "whisper-2"}')
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    wav = media_fake.small_wav()
    answer = await sdk(gateway, key).audio.translations.create(model="whisper-1", file=("a.wav", wav, "audio/wav"))
    assert answer.text == media_fake.TRANSCRIPT
    seen = media_upstream.seen[-1]
    assert seen.path == "/v1/audio/translations" and seen.form["model"] == "whisper-2" and seen.form["file"] == wav
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    _token, [entry] = await books(runtime, key)
    assert entry["model_name"] == "whisper-2"
    # whisper-2 has no built-in ratio: 30
    assert entry["quota"] == token_count.count_text(media_fake.TRANSCRIPT, "whisper-2") * 30


async def test_transcription_errors(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="whisper-1")
    await add_channel(runtime, media_upstream.url, key="error200", models="whisper-bad")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    async with httpx.AsyncClient() as raw:
        resp = await raw.post(f"{gateway}/v1/audio/transcriptions", data={"model": "whisper-1"},
                              headers={"Authorization": f"Bearer sk-{key}"},
                              files={"other": ("a.wav", b"RIFF")})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "file_missing"
        resp = await raw.post(f"{gateway}/v1/audio/transcriptions",
                              data={"model": "whisper-1", "response_format": "mp3"},
                              files={"file": ("a.wav", b"RIFF")}, headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "unexpected_response_format"
    with pytest.raises(openai.InternalServerError) as info:
        await client.audio.transcriptions.create(model="whisper-bad", file=("a.wav", b"RIFF", "audio/wav"))
    assert info.value.body["message"].startswith("bad audio")
    token, entries = await books(runtime, key)
    assert entries == [] and token["used_quota"] == 0


async def test_body_limit_applies_to_multipart(runtime, make_settings, media_upstream):
    from oneapi_app.api import create_app
    from oneapi_app.runtime import Runtime

    small = Runtime(make_settings(MAX_REQUEST_BODY_SIZE="1"))
    async with small.lifespan():
        await add_channel(small, media_upstream.url, models="whisper-1")
        key = await add_token(small)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(small)), base_url="http://gw") as c:
            resp = await c.post("/v1/audio/transcriptions", data={"model": "whisper-1"},
                                files={"file": ("a.wav", b"\0" * (2 * 1024 * 1024))},
                                headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_body_too_large"
    assert media_upstream.seen == []


async def test_rerank_bills_reported_usage_or_counts(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="jina-reranker-v2")
    await add_channel(runtime, media_upstream.url, key="nousage", models="rerank-local")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    headers = {"Authorization": f"Bearer sk-{key}"}
    documents = ["Paris is the capital of France.", {"text": "Berlin is in Germany."}]
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{gateway}/v1/rerank", headers=headers,
                                 json={"model": "jina-reranker-v2", "query": "capital of France", "documents": documents})
        assert resp.status_code == 200 and len(resp.json()["results"]) == 2
        resp = await client.post(f"{gateway}/v1/rerank", headers=headers,
                                 json={"model": "rerank-local", "query": "capital of France", "documents": documents})
        assert resp.status_code == 200
        bad = await client.post(f"{gateway}/v1/rerank", headers=headers,
                                json={"model": "jina-reranker-v2", "query": "q", "documents": [1, 2]})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "one_api_error"
    _token, entries = await books(runtime, key)
    local = token_count.count_text("capital of France Paris is the capital of France. Berlin is in Germany.",
                                   "rerank-local")
    assert [e["quota"] for e in entries] == [42 * 30, local * 30]  # unknown models: ratio 30
    assert [e["prompt_tokens"] for e in entries] == [42, local]
    assert "estimated" in entries[1]["content"] and "estimated" not in entries[0]["content"]


async def test_media_on_a_limited_token_keeps_the_books(runtime, gateway, media_upstream):
    user_id = await add_user(runtime, quota=70_000)
    await add_channel(runtime, media_upstream.url, models="dall-e-3")
    key = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    await client.images.generate(model="dall-e-3", prompt="one")  # 20000
    await client.images.generate(model="dall-e-3", prompt="two", size="1792x1024")  # 40000
    with pytest.raises(openai.PermissionDeniedError):  # 20000 more than the user has left
        await client.images.generate(model="dall-e-3", prompt="three", quality="hd")
    token, _entries = await books(runtime, key)
    user = await row(runtime, "SELECT quota, used_quota FROM users WHERE id = :i", i=user_id)
    assert token["used_quota"] == 60000 == user["used_quota"] and user["quota"] == 10_000


async def test_client_leaving_refunds_the_image_reservation(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, key="slow", models="dall-e-3")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    async with httpx.AsyncClient(timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{gateway}/v1/images/generations", json={"model": "dall-e-3", "prompt": "slow"},
                              headers={"Authorization": f"Bearer sk-{key}"})
    for _ in range(100):
        await runtime.ledger.flush()
        token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
        if token["remain_quota"] == START:
            break
        await asyncio.sleep(0.05)
    assert token == {"remain_quota": START, "used_quota": 0}
    assert await logs(runtime) == []


def big_wav(seconds: int) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(range(256)) * (seconds * 125))  # 32000 bytes a second
    return out.getvalue()


async def test_large_upload_streams_through_with_its_length(runtime, gateway, media_upstream, monkeypatch):
    from oneapi_app.relay.upload import Upload

    streamed = []
    body = Upload.body
    monkeypatch.setattr(Upload, "body", lambda self, head: streamed.append(len(head)) or body(self, head))
    await add_channel(runtime, media_upstream.url, models="whisper-1", model_mapping='{"whisper-1": "whisper-x"}')
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    wav = big_wav(100)  # 3.2 MB: past STREAM_UPLOAD_AT, sent on as it arrives
    answer = await sdk(gateway, key).audio.transcriptions.create(model="whisper-1", file=("a.wav", wav, "audio/wav"),
                                                                 response_format="srt")
    assert answer.strip().endswith(media_fake.TRANSCRIPT)
    seen = media_upstream.seen[-1]
    assert seen.form["file"] == wav and seen.form["model"] == "whisper-x" and seen.form["response_format"] == "srt"
    assert int(seen.headers["Content-Length"]) == len(seen.raw) and "Transfer-Encoding" not in seen.headers
    assert len(streamed) == 1 and streamed[0] < 1024 * 1024  # only the head was read before the upstream call
    _token, [entry] = await books(runtime, key)
    assert entry["quota"] == token_count.count_text(media_fake.TRANSCRIPT, "whisper-x") * 30


async def test_streamed_upload_past_the_limit_is_refused_and_refunded(make_settings, media_upstream):
    from oneapi_app.api import create_app
    from oneapi_app.runtime import Runtime

    small = Runtime(make_settings(MAX_REQUEST_BODY_SIZE="2"))
    async with small.lifespan():
        await add_channel(small, media_upstream.url, models="whisper-1")
        key = await add_token(small, unlimited=False, remain_quota=START)
        boundary = "b0undary"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                f"Content-Type: audio/wav\r\n\r\n").encode()

        async def chunked():  # no Content-Length: only the running count can stop it
            yield head
            for _ in range(48):
                yield b"\0" * 65536
            yield f"\r\n--{boundary}--\r\n".encode()

        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(small)), base_url="http://gw") as c:
            resp = await c.post("/v1/audio/transcriptions", content=chunked(),
                                headers={"Authorization": f"Bearer sk-{key}",
                                         "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_body_too_large"
        await small.ledger.flush()
        token = await row(small, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
        assert token == {"remain_quota": START, "used_quota": 0}
        assert await logs(small) == []
