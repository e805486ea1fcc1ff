"""The image halves of the native adaptors on fixtures from the providers' API documentation: DashScope's
text2image tasks on Ali (17) and Ali Bailian (49) channels (the API root from any base a channel carries),
Replicate's predictions (one image each, n of them for n images)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from oneapi_app.errors import RelayError, UpstreamFailure
from oneapi_app.relay import native_images
from oneapi_app.relay.adaptors import image_maker_for, replicate
from oneapi_app.relay.adaptors.ali_image import AliImageAdaptor, dashscope_base
from oneapi_app.relay.adaptors.base import ImageCall, Target
from oneapi_app.relay.adaptors.replicate import ReplicateAdaptor

from .cn_helpers import raw

ALI, REPLICATE = AliImageAdaptor(), ReplicateAdaptor()
WANX = ImageCall(model="wanx-v1", prompt="山水画", n=2, size="720x1280")


# -- DashScope: Ali and Ali Bailian ---------------------------------------------------------------------------
def test_bailian_channels_generate_images_with_the_dashscope_half():
    maker = image_maker_for(49)
    assert maker is not None and maker is image_maker_for(17)
    assert image_maker_for(1) is None


@pytest.mark.parametrize(("base", "root"), [
    ("", "https://dashscope.aliyuncs.com"),
    ("https://dashscope.aliyuncs.com", "https://dashscope.aliyuncs.com"),
    ("https://dashscope.aliyuncs.com/", "https://dashscope.aliyuncs.com"),
    ("https://dashscope.aliyuncs.com/compatible-mode/v1", "https://dashscope.aliyuncs.com"),
    ("https://dashscope.aliyuncs.com/compatible-mode/v1/", "https://dashscope.aliyuncs.com"),
    ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "https://dashscope-intl.aliyuncs.com"),
    ("https://dashscope.aliyuncs.com/api/v1", "https://dashscope.aliyuncs.com"),
    ("http://127.0.0.1:9/compatible-mode", "http://127.0.0.1:9"),
])
@pytest.mark.parametrize("type_id", [17, 49])
def test_the_dashscope_api_root_from_the_channel_base(type_id, base, root):
    target = Target(type_id, base, "sk-ali")
    assert dashscope_base(target) == root
    request = ALI.build_image_request(target, WANX)
    assert request.url == f"{root}/api/v1/services/aigc/text2image/image-synthesis"
    assert request.headers["X-DashScope-Async"] == "enable" and request.headers["Authorization"] == "Bearer sk-ali"
    assert orjson.loads(request.body) == {"model": "wanx-v1", "input": {"prompt": "山水画"},
                                          "parameters": {"size": "720*1280", "n": 2}}


def test_dashscope_task_created_polled_then_finished():
    target = Target(49, "https://dashscope.aliyuncs.com/compatible-mode/v1", "sk-ali")
    step = ALI.parse_image_answer(target, WANX, raw("dashscope", "task_created.json"))
    assert step.images == [] and step.poll is not None and step.wait > 0
    assert step.poll.method == "GET"
    assert step.poll.url == "https://dashscope.aliyuncs.com/api/v1/tasks/0385dc79-5ff8-4d82-bcb6-caa9a2d4fcd0"
    done = ALI.parse_image_answer(target, WANX, raw("dashscope", "task_succeeded.json"))
    assert done.poll is None and done.images == [
        {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1.png"},
        {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/2.png"}]


def test_dashscope_failed_task_is_a_final_502_with_alis_words():
    with pytest.raises(UpstreamFailure) as caught:
        ALI.parse_image_answer(Target(49, "", "sk-ali"), WANX, raw("dashscope", "task_failed.json"))
    assert caught.value.status == 502 and not caught.value.retryable
    assert "inappropriate content" in str(caught.value.message)


# -- Replicate: n one-image predictions -----------------------------------------------------------------------
FLUX = "black-forest-labs/flux-schnell"


def test_replicate_splits_n_images_into_n_one_image_predictions():
    image = ImageCall(model=FLUX, prompt="a fox", n=3, size="1792x1024", response_format="b64_json")
    calls = REPLICATE.split_image(image)
    assert len(calls) == 3 and all(c.n == 1 and c.prompt == "a fox" and c.size == "1792x1024" for c in calls)
    request = REPLICATE.build_image_request(Target(46, "", "r8_k"), calls[0])
    assert request.url == f"https://api.replicate.com/v1/models/{FLUX}/predictions"
    assert request.headers["Prefer"] == "wait" and request.headers["Authorization"] == "Bearer r8_k"
    assert orjson.loads(request.body) == {"input": {"prompt": "a fox", "aspect_ratio": "16:9"}}
    assert REPLICATE.split_image(ImageCall(model=FLUX, prompt="x")) == [ImageCall(model=FLUX, prompt="x")]


@pytest.mark.parametrize("n", [1, 2, 10])
def test_replicate_takes_n_up_to_openais_limit(n):
    REPLICATE.check_image(ImageCall(model=FLUX, prompt="x", n=n))


@pytest.mark.parametrize("n", [0, 11])
def test_replicate_refuses_n_beyond_openais_limit(n):
    with pytest.raises(RelayError) as caught:
        REPLICATE.check_image(ImageCall(model=FLUX, prompt="x", n=n))
    assert caught.value.status == 400 and caught.value.code == "n_not_within_range"
    assert "10" in str(caught.value.message)


def test_replicate_prediction_answers():
    target, image = Target(46, "", "r8_k"), ImageCall(model=FLUX, prompt="x")
    done = REPLICATE.parse_image_answer(target, image, raw("replicate", "prediction_image.json"))
    assert done.poll is None and done.images == [
        {"url": "https://replicate.delivery/czjl/9MBNrffKcxoqY0iprW66NF8MZaNeH322a27yE0sjFGtKMXLnA/out-0.webp"}]
    running = REPLICATE.parse_image_answer(target, image, raw("replicate", "prediction_processing.json"))
    assert running.poll is not None and running.poll.method == "GET" and running.images == []
    assert running.poll.url == "https://api.replicate.com/v1/predictions/rrr4z55ocneqzikepnug6xezpe"
    with pytest.raises(UpstreamFailure) as caught:
        REPLICATE.parse_image_answer(target, image, raw("replicate", "prediction_failed.json"))
    assert caught.value.status == 502 and not caught.value.retryable and "NSFW" in str(caught.value.message)


# -- the fan-out (relay/native_images.py) with a scripted upstream ---------------------------------------------
class Resp:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    async def read(self, limit: int) -> bytes:
        return self.body


class Scripted:
    """Answers each creation with the next scripted (status, body), each GET with ``gets[url]`` (default
    prediction_image.json) and each cancel with 200."""

    def __init__(self, *answers: tuple[int, bytes], gets: dict[str, bytes] | None = None) -> None:
        self.answers, self.gets, self.sent = list(answers), gets or {}, []

    async def send(self, request):
        self.sent.append(request)
        await asyncio.sleep(0)
        if request.method == "GET":
            return Resp(200, self.gets.get(request.url, raw("replicate", "prediction_image.json")))
        if request.url.endswith("/cancel"):
            return Resp(200, b"{}")
        return Resp(*self.answers.pop(0))

    def cancels(self) -> list[str]:
        return [r.url for r in self.sent if r.url.endswith("/cancel")]


def starting(pid: str) -> bytes:
    return raw("replicate", "prediction_starting.json").replace(b"gm3qorzdhgbfurvjtvhg6dckhu", pid.encode())


def failed(pid: str) -> bytes:
    return raw("replicate", "prediction_failed.json").replace(b"gm3qorzdhgbfurvjtvhg6dckhu", pid.encode())


PREDICTIONS = "https://api.replicate.com/v1/predictions"
_spawned: list[asyncio.Task] = []


def spawn(coro, name: str) -> asyncio.Task:
    """The runtime's background work, as the relay passes it (runtime.background.spawn)."""
    _spawned.append(task := asyncio.ensure_future(coro))
    return task


SUCCEEDED, RUNNING = (201, raw("replicate", "prediction_image.json")), (201, raw("replicate", "prediction_processing.json"))
THROTTLED = (429, b'{"title": "Request was throttled", "detail": "Request was throttled. r8_secret", "status": 429}')


async def test_generate_joins_the_images_of_every_prediction(monkeypatch):
    monkeypatch.setattr(replicate, "POLL_SECONDS", 0.0)
    upstream = Scripted(SUCCEEDED, RUNNING, SUCCEEDED)
    body = await native_images.generate(upstream, REPLICATE, Target(46, "", "r8_secret"),  # type: ignore[arg-type]
                                        ImageCall(model=FLUX, prompt="x", n=3), 1 << 20, spawn)
    data = orjson.loads(body)["data"]
    assert len(data) == 3 and all(d["url"].endswith("/out-0.webp") for d in data)
    assert [r.method for r in upstream.sent] == ["POST", "POST", "POST", "GET"]


async def test_a_refused_prediction_is_retryable_only_if_none_was_created():
    target = Target(46, "", "r8_secret")
    with pytest.raises(UpstreamFailure) as caught:  # every creation refused: another channel may try
        await native_images.generate(Scripted(THROTTLED, THROTTLED), REPLICATE, target,  # type: ignore[arg-type]
                                     ImageCall(model=FLUX, prompt="x", n=2), 1 << 20, spawn)
    assert caught.value.status == 429 and caught.value.retryable
    assert "r8_secret" not in str(caught.value.message)
    with pytest.raises(UpstreamFailure) as caught:  # one was created (billed upstream): final
        await native_images.generate(Scripted(SUCCEEDED, THROTTLED), REPLICATE, target,  # type: ignore[arg-type]
                                     ImageCall(model=FLUX, prompt="x", n=2), 1 << 20, spawn)
    assert caught.value.status == 429 and not caught.value.retryable


async def test_a_failed_prediction_fails_at_once_without_waiting_for_the_others(monkeypatch):
    monkeypatch.setattr(replicate, "POLL_SECONDS", 60.0)  # the running one would wait a minute
    upstream = Scripted(RUNNING, (201, raw("replicate", "prediction_failed.json")))
    with pytest.raises(UpstreamFailure) as caught:
        await asyncio.wait_for(native_images.generate(upstream, REPLICATE, Target(46, "", "k"),  # type: ignore[arg-type]
                                                      ImageCall(model=FLUX, prompt="x", n=2), 1 << 20, spawn), 5)
    assert caught.value.status == 502 and not caught.value.retryable and len(upstream.sent) == 2


def test_a_running_prediction_can_be_cancelled():
    step = REPLICATE.parse_image_answer(Target(46, "", "r8_k"), ImageCall(model=FLUX, prompt="x"), starting("a1"))
    assert step.cancel is not None and step.cancel.method == "POST" and step.cancel.url == f"{PREDICTIONS}/a1/cancel"
    assert step.cancel.headers["Authorization"] == "Bearer r8_k"


async def test_a_failed_creation_cancels_the_predictions_still_running():
    upstream = Scripted((201, starting("a1")), (201, failed("b2")), SUCCEEDED)
    with pytest.raises(UpstreamFailure) as caught:
        await native_images.generate(upstream, REPLICATE, Target(46, "", "k"),  # type: ignore[arg-type]
                                     ImageCall(model=FLUX, prompt="x", n=3), 1 << 20, spawn)
    assert caught.value.status == 502 and not caught.value.retryable and "NSFW" in str(caught.value.message)
    assert upstream.cancels() == [f"{PREDICTIONS}/a1/cancel"]  # not the failed one, not the finished one


async def test_a_failed_poll_stops_and_cancels_the_others(monkeypatch):
    monkeypatch.setattr(replicate, "POLL_SECONDS", 0.0)
    gets = {f"{PREDICTIONS}/a1": failed("a1"), f"{PREDICTIONS}/b2": starting("b2")}  # b2 never finishes
    upstream = Scripted((201, starting("a1")), (201, starting("b2")), gets=gets)
    with pytest.raises(UpstreamFailure) as caught:
        await asyncio.wait_for(native_images.generate(upstream, REPLICATE, Target(46, "", "k"),  # type: ignore[arg-type]
                                                      ImageCall(model=FLUX, prompt="x", n=2), 1 << 20, spawn), 5)
    assert caught.value.status == 502 and not caught.value.retryable
    assert upstream.cancels() == [f"{PREDICTIONS}/b2/cancel"]
    polls = len([r for r in upstream.sent if r.method == "GET"])
    await asyncio.sleep(0.05)
    assert len([r for r in upstream.sent if r.method == "GET"]) == polls  # b2 is no longer polled


async def test_the_client_leaving_cancels_the_running_predictions(monkeypatch):
    monkeypatch.setattr(replicate, "POLL_SECONDS", 60.0)
    upstream = Scripted((201, starting("a1")), SUCCEEDED)
    work = asyncio.ensure_future(native_images.generate(upstream, REPLICATE, Target(46, "", "k"),  # type: ignore[arg-type]
                                                        ImageCall(model=FLUX, prompt="x", n=2), 1 << 20, spawn))
    while len(upstream.sent) < 2:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work
    for _ in range(10):
        await asyncio.sleep(0)
    assert upstream.cancels() == [f"{PREDICTIONS}/a1/cancel"]
