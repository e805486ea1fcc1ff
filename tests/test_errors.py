"""The one error tree (oneapi_app/errors.py): every typed error lives there and renders both envelopes itself."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from oneapi_app import errors
from oneapi_app.errors import (
    AppError,
    AuthError,
    BodyError,
    InternalError,
    InvalidURL,
    ModelNotFound,
    NoChannel,
    RateLimited,
    Refused,
    UpstreamFailure,
)

ROOT = Path(errors.__file__).parent


def _error_classes_outside_the_tree() -> set[str]:
    names = {name for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, AppError)}
    found = set()
    for path in ROOT.rglob("*.py"):
        if path == Path(errors.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in names for b in node.bases):
                found.add(f"{path.relative_to(ROOT).as_posix()}:{node.name}")
    return found


def test_every_typed_error_is_defined_in_errors_py():
    assert _error_classes_outside_the_tree() == set()


def test_the_docstring_draws_every_class_of_the_tree():
    classes = [name for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, AppError)]
    missing = [name for name in classes if name not in errors.__doc__]
    assert not missing


def _all_subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


@pytest.mark.parametrize("cls", [AppError, *_all_subclasses(AppError)], ids=lambda c: c.__name__)
def test_each_error_renders_both_envelopes(cls):
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is p.empty and p.kind is not p.KEYWORD_ONLY]
    kwargs = {"status": 502, "retryable": False} if issubclass(cls, UpstreamFailure) else {}
    exc = cls(*["x"] * len(params), **kwargs)
    body = exc.openai_body("RID")["error"]
    assert isinstance(body["message"], str) and body["type"] and isinstance(exc.status, int)
    assert exc.api_status in (200, 401, 403, 404, 429)
    api = exc.api_body()
    assert api == {"success": False, "message": exc.message} or api == exc.openai_body()


def test_the_envelopes_of_the_special_cases():
    assert InvalidURL("GET", "/api/x").api_body() == {"error": {"message": "Invalid URL (GET /api/x)",
                                                               "type": "invalid_request_error", "param": "",
                                                               "code": ""}}
    assert InvalidURL("GET", "/api/x").api_status == 404
    assert AuthError("no", 401).openai_body("R") == {"error": {"message": "no (request id: R)",
                                                               "type": "one_api_error"}}
    assert (BodyError("bad").status, NoChannel("none").status, NoChannel("pinned", 403).status) == (400, 503, 403)
    assert BodyError("bad").openai_body("R") == {"error": {"message": "bad (request id: R)", "type": "one_api_error"}}
    assert ModelNotFound("m").openai_body("R") == {"error": {
        "message": "当前分组 default 下对于模型 m 无可用渠道 (request id: R)",
        "type": "invalid_request_error", "param": None, "code": "model_not_found"}}
    assert (ModelNotFound("m").status, RateLimited().api_status, Refused("r").api_status) == (404, 429, 200)
    assert InternalError().openai_body() == {"error": {"message": "服务器内部错误，详见服务器日志",
                                                       "type": "one_api_error", "param": "", "code": "internal_error"}}
    forwarded = UpstreamFailure("m", status=400, retryable=False, body={"message": "m", "type": "t", "code": "c"})
    assert forwarded.openai_body("R") == {"error": {"message": "m (request id: R)", "type": "t", "code": "c"}}
