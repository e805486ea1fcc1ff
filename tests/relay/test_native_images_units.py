"""The image halves of the native adaptors on fixtures from the providers' API documentation: DashScope's
text2image tasks on Ali (17) and Ali Bailian (49) channels (the API root from any base a channel carries),
Replicate's predictions (one image each, n of them for n images)."""

from __future__ import annotations

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors import image_maker_for
from oneapi_app.relay.adaptors.ali_image import AliImageAdaptor, dashscope_base
from oneapi_app.relay.adaptors.base import ImageCall, Target

from .cn_helpers import raw

ALI = AliImageAdaptor()
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
