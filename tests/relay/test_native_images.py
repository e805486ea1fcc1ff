"""/v1/images/generations on native channels, end to end with the openai SDK: Replicate's predictions (flux)
and Ali DashScope's text2image tasks (wanx) against local fakes -- polling, url and b64_json answers, errors
in OpenAI's envelope, billing exact (One API's image pricing), refunds on failure. Zhipu's cogview goes
through its OpenAI-compatible /api/paas/v4/images/generations."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import openai
import pytest
from aiohttp import web

from oneapi_app.relay import media_rules as rules
from oneapi_app.relay.adaptors import ali_image, replicate
from oneapi_app.services import pricing
from tests.local_server import serving

from .cn_helpers import START, check_billing
from .conftest import add_channel, add_token, sdk

FLUX = "black-forest-labs/flux-schnell"
IMAGE = b"RIFF\x00\x00\x00\x00WEBPfake image bytes"


@dataclass
class Fake:
    url: str = ""
    created: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    polls: int = 0
    downloads: int = 0
    in_flight: int = 0
    peak: int = 0  # most predictions being created at once
    cancelled: list[str] = field(default_factory=list)


def _app(state: Fake) -> web.Application:
    predictions: dict[str, dict] = {}

    def prediction(pid: str, status: str, output=None, error=None) -> dict:
        return {"id": pid, "status": status, "output": output, "error": error,
                "urls": {"get": f"{state.url}/v1/predictions/{pid}", "cancel": f"{state.url}/v1/predictions/{pid}/cancel"}}

    async def create(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer r8_ok":
            return web.json_response({"title": "Unauthenticated", "detail": "You did not pass a valid authentication "
                                      "token", "status": 401}, status=401)
        body = await request.json()
        state.created.append({"path": request.path, **body})
        state.headers.append(dict(request.headers))
        prompt = body["input"]["prompt"]
        pid = f"p{len(state.created)}"
        nth = sum(1 for c in state.created if c["input"]["prompt"] == prompt)
        state.in_flight += 1
        state.peak = max(state.peak, state.in_flight)
        await asyncio.sleep(0.05)  # time for the request's other predictions to arrive
        state.in_flight -= 1
        if "fail" in prompt and ("second" not in prompt or nth == 2):
            return web.json_response(prediction(pid, "failed", error="NSFW content detected"), status=201)
        output = [f"{state.url}/files/{pid}.webp"]
        if "slow" in prompt:
            predictions[pid] = prediction(pid, "succeeded", output)
            return web.json_response(prediction(pid, "processing"), status=201)
        return web.json_response(prediction(pid, "succeeded", output), status=201)

    async def get_prediction(request: web.Request) -> web.Response:
        state.polls += 1
        return web.json_response(predictions[request.match_info["pid"]])

    async def cancel(request: web.Request) -> web.Response:
        state.cancelled.append(request.match_info["pid"])
        return web.json_response(prediction(request.match_info["pid"], "canceled"))

    async def synthesis(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer sk-ali":
            return web.json_response({"code": "InvalidApiKey", "message": "Invalid API-key provided.",
                                      "request_id": "r0"}, status=401)
        body = await request.json()
        state.created.append({"path": request.path, **body})
        state.headers.append(dict(request.headers))
        tid = f"t{len(state.created)}"
        return web.json_response({"request_id": "r1", "output": {"task_id": tid, "task_status": "PENDING"}})

    async def task(request: web.Request) -> web.Response:
        state.polls += 1
        tid = request.match_info["tid"]
        created = state.created[int(tid[1:]) - 1]
        if state.polls % 2 == 1:
            return web.json_response({"request_id": "r2", "output": {"task_id": tid, "task_status": "RUNNING"}})
        if "fail" in created["input"]["prompt"]:
            return web.json_response({"request_id": "r3", "output": {
                "task_id": tid, "task_status": "FAILED", "code": "DataInspectionFailed",
                "message": "Input data may contain inappropriate content."}})
        results = [{"url": f"{state.url}/files/{tid}-{i}.png"} for i in range(created["parameters"]["n"])]
        return web.json_response({"request_id": "r4", "output": {"task_id": tid, "task_status": "SUCCEEDED",
                                                                 "results": results},
                                  "usage": {"image_count": len(results)}})

    async def files(request: web.Request) -> web.Response:
        state.downloads += 1
        return web.Response(body=IMAGE, content_type="image/webp")

    app = web.Application()
    app.add_routes([web.post("/v1/models/{owner}/{name}/predictions", create),
                    web.get("/v1/predictions/{pid}", get_prediction),
                    web.post("/v1/predictions/{pid}/cancel", cancel),
                    web.post("/api/v1/services/aigc/text2image/image-synthesis", synthesis),
                    web.get("/api/v1/tasks/{tid}", task), web.get("/files/{name}", files)])
    return app


@pytest.fixture
async def fake(monkeypatch):
    monkeypatch.setattr(replicate, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(ali_image, "POLL_SECONDS", 0.01)
    state = Fake()
    async with serving(_app(state)) as state.url:
        yield state


def image_quota(runtime, model: str, type_id: int, n: int = 1, size: str = "1024x1024") -> int:
    price = pricing.price_for(runtime.options, model, type_id, "default")
    return rules.image_quota(rules.ImageJob("p", n, size, ""), model, price)


async def test_replicate_flux_through_images_generations(runtime, gateway, fake):
    await add_channel(runtime, f"{fake.url}/v1/models/", key="r8_ok", models=FLUX, type=46)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)

    answer = await client.images.generate(model=FLUX, prompt="a red fox", size="1792x1024")
    assert [d.url for d in answer.data] == [f"{fake.url}/files/p1.webp"] and answer.created > 0
    assert fake.created[0] == {"path": f"/v1/models/{FLUX}/predictions",
                               "input": {"prompt": "a red fox", "aspect_ratio": "16:9"}}
    assert fake.headers[0]["Prefer"] == "wait"

    # still running after the wait: polled at urls.get, then downloaded for b64_json
    answer = await client.images.generate(model=FLUX, prompt="a slow fox", response_format="b64_json")
    assert base64.b64decode(answer.data[0].b64_json or "") == IMAGE and answer.data[0].url is None
    assert fake.polls == 1 and fake.downloads == 1

    # n beyond OpenAI's 10 -- refused before anything is reserved or sent
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model=FLUX, prompt="eleven foxes", n=11)
    assert "10" in caught.value.message and len(fake.created) == 2
    assert caught.value.body["code"] == "n_not_within_range"

    # a failed prediction: a 502 with Replicate's words, refunded
    with pytest.raises(openai.APIStatusError) as failed:
        await client.images.generate(model=FLUX, prompt="fail please")
    assert failed.value.status_code == 502 and "NSFW content detected" in failed.value.message

    one = image_quota(runtime, FLUX, 46)
    assert one == 1500  # $0.003 an image: ratio 1.5 x 1000
    entries = await check_billing(runtime, key, [one, one])
    assert all(e["model_name"] == FLUX for e in entries)


async def test_replicate_n_images_are_n_concurrent_predictions_billed_per_image(runtime, gateway, fake):
    await add_channel(runtime, f"{fake.url}/v1/models/", key="r8_ok", models=FLUX, type=46)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)

    answer = await client.images.generate(model=FLUX, prompt="three foxes", n=3, size="1024x1792")
    assert [d.url for d in answer.data] == [f"{fake.url}/files/p{i}.webp" for i in (1, 2, 3)]
    assert fake.created == [{"path": f"/v1/models/{FLUX}/predictions",
                             "input": {"prompt": "three foxes", "aspect_ratio": "9:16"}}] * 3
    assert fake.peak == 3 and all(h["Prefer"] == "wait" for h in fake.headers)

    # still running after the wait: each polled at its urls.get; b64_json downloads every image
    answer = await client.images.generate(model=FLUX, prompt="slow foxes", n=2, response_format="b64_json")
    assert [base64.b64decode(d.b64_json or "") for d in answer.data] == [IMAGE, IMAGE]
    assert fake.polls == 2 and fake.downloads == 2

    # the second of three predictions fails: the request fails in OpenAI's envelope, nothing is charged, and
    # the two still running are cancelled upstream
    with pytest.raises(openai.APIStatusError) as failed:
        await client.images.generate(model=FLUX, prompt="slow, fail the second fox", n=3)
    assert failed.value.status_code == 502 and "NSFW content detected" in failed.value.message
    assert failed.value.body["code"] == "prediction_failed" and len(fake.created) == 8
    assert sorted(fake.cancelled) == ["p6", "p8"] and fake.polls == 2

    # the largest n OpenAI allows
    answer = await client.images.generate(model=FLUX, prompt="ten foxes", n=10)
    assert len(answer.data) == 10 and len({d.url for d in answer.data}) == 10 and fake.peak == 10

    one = image_quota(runtime, FLUX, 46)
    assert image_quota(runtime, FLUX, 46, n=3) == 3 * one == 4500
    entries = await check_billing(runtime, key, [3 * one, 2 * one, 10 * one])
    assert [e["content"].endswith(f"× {n}") for e, n in zip(entries, (3, 2, 10), strict=True)] == [True] * 3


async def test_replicate_refused_key_is_openai_shaped_401(runtime, gateway, fake):
    await add_channel(runtime, f"{fake.url}/v1/models", key="r8_wrong", models=FLUX, type=46)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).images.generate(model=FLUX, prompt="a fox")
    assert "valid authentication token" in caught.value.message and "r8_wrong" not in caught.value.message
    assert caught.value.body["type"] == "authentication_error"
    await check_billing(runtime, key, [])


# Ali (17) and Ali Bailian (49, whose base is often the OpenAI-compatible one: images go to the DashScope root)
DASHSCOPE_CHANNELS = [(17, ""), (49, "/compatible-mode/v1/")]


@pytest.mark.parametrize(("channel_type", "base"), DASHSCOPE_CHANNELS)
async def test_dashscope_wanx_task_polled_and_billed_like_one_api(runtime, gateway, fake, channel_type, base):
    await add_channel(runtime, fake.url + base, key="sk-ali", models="wanx-v1", type=channel_type)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)

    answer = await client.images.generate(model="wanx-v1", prompt="山水画", n=2, size="720x1280")
    assert [d.url for d in answer.data] == [f"{fake.url}/files/t1-0.png", f"{fake.url}/files/t1-1.png"]
    assert fake.created[0] == {"path": "/api/v1/services/aigc/text2image/image-synthesis", "model": "wanx-v1",
                               "input": {"prompt": "山水画"}, "parameters": {"size": "720*1280", "n": 2}}
    assert fake.headers[0]["X-DashScope-Async"] == "enable" and fake.polls == 2

    answer = await client.images.generate(model="wanx-v1", prompt="竹子", response_format="b64_json")
    assert [base64.b64decode(d.b64_json or "") for d in answer.data] == [IMAGE]

    with pytest.raises(openai.APIStatusError) as failed:  # the task failed upstream: Ali's words, refunded
        await client.images.generate(model="wanx-v1", prompt="fail")
    assert failed.value.status_code == 502 and "inappropriate content" in failed.value.message
    assert failed.value.body["type"] == "ali_error"

    with pytest.raises(openai.BadRequestError):  # One API's wanx rules: size whitelist
        await client.images.generate(model="wanx-v1", prompt="x", size="512x512")
    with pytest.raises(openai.BadRequestError):  # and n 1-4
        await client.images.generate(model="wanx-v1", prompt="x", n=5)
    assert len(fake.created) == 3

    await check_billing(runtime, key, [image_quota(runtime, "wanx-v1", channel_type, n=2, size="720x1280"),
                                       image_quota(runtime, "wanx-v1", channel_type)])
    assert image_quota(runtime, "wanx-v1", channel_type, n=2, size="720x1280") == 16000  # ratio 8 x 1 x 1000 x 2


@pytest.mark.parametrize(("channel_type", "base"), [(17, "/compatible-mode/v1"), (49, "")])
async def test_dashscope_refused_key_in_openais_envelope(runtime, gateway, fake, channel_type, base):
    await add_channel(runtime, fake.url + base, key="sk-wrong", models="wanx-v1", type=channel_type)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).images.generate(model="wanx-v1", prompt="x")
    assert "Invalid API-key provided." in caught.value.message and "sk-wrong" not in caught.value.message
    await check_billing(runtime, key, [])


def test_zhipu_cogview_goes_to_the_v4_images_endpoint():
    from oneapi_app.relay.adaptors.base import Call, Target
    from oneapi_app.relay.adaptors.openai import request_url

    target = Target(16, "", "k")
    call = Call(kind="embeddings", path="/v1/images/generations", model="cogview-3", body={}, raw=b"",
                rewritten=False, stream=False)
    assert request_url(target, call) == "https://open.bigmodel.cn/api/paas/v4/images/generations"
