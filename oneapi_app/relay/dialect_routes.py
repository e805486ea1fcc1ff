"""Routes of the Responses API and of Gemini's native API (the dialects in relay/dialects/responses.py and
gemini.py run through the one pipeline; these routes only add what those APIs need around it).

- ``POST /v1/responses``: a per-request ``ResponsesDialect``. A ``previous_response_id`` is looked up among the
  caller's stored responses (another user's id is "not found", as an unknown one) and replayed into
  ``input``; the answer is stored (``store`` not false) after it reached the client, by the runtime's
  ``responses_store`` (one INSERT, tracked background work).
- ``GET`` / ``DELETE /v1/responses/{id}``: the caller's stored response.
- ``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent`` (and ``/v1/models/...``, Gemini's
  v1 version): Gemini's dialect; ``:countTokens`` counted locally; every error in Google's envelope. ``GET /v1beta/models`` (and ``/v1/models`` with ``x-goog-api-key``): Gemini's shape.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AppError, NotFound
from ..i18n import msg
from ..middleware import request_id
from .auth import Auth, authenticate, check_model_allowed
from .client import read_body
from .dialects.gemini import ACTIONS, GEMINI, GEMINI_STREAM, split_model_action
from .dialects.responses import ResponsesDialect
from .dialects.responses_convert import replay_items
from .pipeline import parse_body, relay
from .streaming import SSEResponse
from .upstream import MB


def _runtime(request: Request):
    return request.app.state.runtime


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _not_found(response_id: str, previous: bool = False) -> NotFound:
    if previous:
        return NotFound(msg("responses.previous_not_found", id=response_id), code="previous_response_not_found",
                        param="previous_response_id")
    return NotFound(msg("responses.not_found", id=response_id), code="not_found", param="response_id")


# -- the Responses API ------------------------------------------------------------------------------------
async def create_response(request: Request):
    runtime = _runtime(request)
    auth = await authenticate(runtime.cache, request)
    raw = await read_body(request, runtime.settings.max_request_body_size * MB)
    request._body = raw  # the pipeline reads the body again: from here
    history = None
    if b"previous_response_id" in raw:  # (no parse here for the usual request)
        previous = parse_body(raw).get("previous_response_id")
        if isinstance(previous, str) and previous:
            stored = await runtime.responses_store.load(previous, auth.user.id)
            if stored is None:
                raise _not_found(previous, previous=True)
            history = replay_items(stored.input, stored.output)
    saved: list[bool] = []

    def on_done(response: dict) -> None:
        if saved or dialect.request.get("store") is False or response.get("status") == "failed":
            return
        saved.append(True)
        runtime.responses_store.save_later(response=response, user_id=auth.user.id, token_id=auth.token.id,
                                           input_items=dialect.items)

    dialect = ResponsesDialect(history, on_done)
    answer = await relay(runtime, request, "chat", dialect=dialect)
    if (not saved and not isinstance(answer, SSEResponse) and answer.status_code == 200
            and dialect.request.get("store") is not False):  # a whole answer passed through: store it
        try:
            body = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and body.get("object") == "response":
            on_done(body)
    return answer


async def _owner(request: Request) -> tuple[Auth, str]:
    auth = await authenticate(_runtime(request).cache, request)
    return auth, request.path_params["response_id"]


async def get_response(request: Request):
    auth, response_id = await _owner(request)
    stored = await _runtime(request).responses_store.load(response_id, auth.user.id)
    if stored is None:
        raise _not_found(response_id)
    return _json(stored.response)


async def delete_response(request: Request):
    auth, response_id = await _owner(request)
    if not await _runtime(request).responses_store.delete(response_id, auth.user.id):
        raise _not_found(response_id)
    return _json({"id": response_id, "object": "response", "deleted": True})


async def response_input_items(request: Request):
    auth, response_id = await _owner(request)
    stored = await _runtime(request).responses_store.load(response_id, auth.user.id)
    if stored is None:
        raise _not_found(response_id)
    items = [{"id": item.get("id") or f"item_{i}", **item} if isinstance(item, dict) else item
             for i, item in enumerate(stored.input)]
    items.reverse()  # newest first, OpenAI's default order
    return _json({"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                  "last_id": items[-1]["id"] if items else None, "has_more": False})


# -- Gemini's native API ----------------------------------------------------------------------------------
def _gemini_error(request: Request, exc: AppError) -> Response:
    return Response(orjson.dumps(exc.gemini_body(request_id(request))), status_code=exc.status,
                    media_type="application/json", headers=exc.headers)


async def gemini_count_tokens(request: Request, model: str) -> Response:
    """``:countTokens``, counted here (tiktoken on the converted prompt; no upstream call, nothing billed); rate
    limited as count_tokens (the per-minute request limits and concurrency, not tokens per minute)."""
    runtime = _runtime(request)
    auth = await authenticate(runtime.cache, request)
    check_model_allowed(auth.token, model)
    body = parse_body(await read_body(request, runtime.settings.max_request_body_size * MB))
    inner = body.get("generateContentRequest")  # (countTokens takes contents, or a whole generate request)
    request_body: dict = inner if isinstance(inner, dict) else body
    GEMINI.read(request_body, model)
    async with runtime.limiter.counting(auth.token, auth.user, request_id(request)):  # requests, not tokens
        total = await asyncio.to_thread(GEMINI.count_prompt, request_body, model)
    return _json({"totalTokens": total})


async def gemini_generate(request: Request):
    try:
        if request.path_params["model_action"].endswith(":countTokens"):
            return await gemini_count_tokens(request, request.path_params["model_action"].rpartition(":")[0]
                                             .removeprefix("models/"))
        model, action = split_model_action(request.path_params["model_action"])
        dialect = GEMINI_STREAM if ACTIONS[action] else GEMINI
        return await relay(_runtime(request), request, "chat", path_model=model, dialect=dialect)
    except AppError as exc:
        return _gemini_error(request, exc)


def gemini_model(model: str) -> dict:
    return {"name": f"models/{model}", "baseModelId": model, "version": "001", "displayName": model,
            "description": "", "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]}


async def visible_models(request: Request) -> tuple[list[str], Auth, object]:
    runtime = _runtime(request)
    auth = await authenticate(runtime.cache, request)
    snapshot = await runtime.cache.channels()
    if auth.token.models is not None:
        return list(auth.token.models), auth, snapshot
    return list(snapshot.group_models.get(auth.user.group, [])), auth, snapshot


async def gemini_models(request: Request):
    try:
        models, _auth, _snapshot = await visible_models(request)
    except AppError as exc:
        return _gemini_error(request, exc)
    return _json({"models": [gemini_model(m) for m in models]})


async def gemini_get_model(request: Request):
    try:
        model = request.path_params["model"].removeprefix("models/")
        models, auth, _snapshot = await visible_models(request)
        if model not in models:
            raise NotFound(msg("relay.model_not_found", model=model, group=auth.user.group), code="not_found")
    except AppError as exc:
        return _gemini_error(request, exc)
    return _json(gemini_model(model))


def wants_gemini_shape(request: Request) -> bool:
    """A Gemini client (its key in ``x-goog-api-key`` or ``?key=``): /v1/models answers in Gemini's shape."""
    return "x-goog-api-key" in request.headers or (
        b"key=" in request.scope.get("query_string", b"") and "key" in request.query_params
        and "authorization" not in request.headers)


DIALECT_ROUTES = [
    ("/v1/responses", create_response, ["POST"]),
    ("/v1/responses/{response_id}", get_response, ["GET"]),
    ("/v1/responses/{response_id}", delete_response, ["DELETE"]),
    ("/v1/responses/{response_id}/input_items", response_input_items, ["GET"]),
    ("/v1beta/models/{model_action}", gemini_generate, ["POST"]),
    ("/v1/models/{model_action}", gemini_generate, ["POST"]),  # (Gemini's v1 API version)
    ("/v1beta/models", gemini_models, ["GET"]),
    ("/v1beta/models/{model}", gemini_get_model, ["GET"]),
]
