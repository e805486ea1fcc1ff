"""/v1 routes: the text relay (one route per row of relay/endpoints.py), models, billing compatibility, and
one-api's 501 list.

Relay routes are plain Starlette routes (no FastAPI dependency injection or validation on the hot path);
errors are typed exceptions rendered by api/envelopes.py.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from ..catalog.channel_types import model_owner
from ..catalog.prices import MODEL_RATIOS
from ..errors import AppError, ModelNotFound, NotImplementedRoute
from ..middleware import request_id
from ..services.cache import ChannelSnapshot
from ..services.options import Options
from .auth import Auth, authenticate
from .count_tokens import count_tokens
from .dialect_routes import DIALECT_ROUTES, gemini_models, wants_gemini_shape
from .dialects import dialect_for
from .endpoints import RELAY_ENDPOINTS, RelayEndpoint
from .media import MEDIA_ROUTES
from .pipeline import relay
from .proxy import PROXY_ROUTES

router = APIRouter(tags=["relay"])

# (methods, path) pairs that one-api answers with 501.
NOT_IMPLEMENTED: list[tuple[list[str], str]] = [
    (["POST"], "/v1/images/variations"),
    (["GET", "POST"], "/v1/files"),
    (["GET", "DELETE"], "/v1/files/{file_id}"),
    (["GET"], "/v1/files/{file_id}/content"),
    (["GET", "POST"], "/v1/fine_tuning/jobs"),
    (["GET"], "/v1/fine_tuning/jobs/{job_id}"),
    (["POST"], "/v1/fine_tuning/jobs/{job_id}/cancel"),
    (["GET"], "/v1/fine_tuning/jobs/{job_id}/events"),
    (["DELETE"], "/v1/models/{model}"),
    (["GET", "POST"], "/v1/assistants"),
    (["GET", "POST", "DELETE"], "/v1/assistants/{assistant_id}"),
    (["GET", "POST"], "/v1/assistants/{assistant_id}/files"),
    (["GET", "DELETE"], "/v1/assistants/{assistant_id}/files/{file_id}"),
    (["POST"], "/v1/threads"),
    (["GET", "POST", "DELETE"], "/v1/threads/{thread_id}"),
    (["GET", "POST"], "/v1/threads/{thread_id}/messages"),
    (["GET", "POST"], "/v1/threads/{thread_id}/messages/{message_id}"),
    (["GET"], "/v1/threads/{thread_id}/messages/{message_id}/files"),
    (["GET"], "/v1/threads/{thread_id}/messages/{message_id}/files/{file_id}"),
    (["POST"], "/v1/threads/runs"),
    (["GET", "POST"], "/v1/threads/{thread_id}/runs"),
    (["GET", "POST"], "/v1/threads/{thread_id}/runs/{run_id}"),
    (["GET"], "/v1/threads/{thread_id}/runs/{run_id}/steps"),
    (["GET"], "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}"),
    (["POST"], "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"),
    (["POST"], "/v1/threads/{thread_id}/runs/{run_id}/cancel"),
]


def _runtime(request: Request):
    return request.app.state.runtime


def relay_endpoint(endpoint: RelayEndpoint):
    """The route of one row of relay/endpoints.py (a ``{model}`` in the path names the model). Errors answer
    in the dialect's envelope (OpenAI's is the app's own renderer)."""
    kind = endpoint.kind
    dialect = dialect_for(endpoint.dialect, kind)

    async def serve(request: Request):
        try:
            return await relay(_runtime(request), request, kind, path_model=request.path_params.get("model"),
                               dialect=dialect)
        except AppError as exc:
            if dialect.family == "openai":
                raise
            return Response(orjson.dumps(dialect.error_body(exc, request_id(request))), status_code=exc.status,
                            media_type="application/json", headers=exc.headers)

    serve.__name__ = f"relay_{kind}"
    return serve


# -- models -------------------------------------------------------------------------------------------------
PERMISSION = {"id": "modelperm-LwHkVFn8AcMItP432fKKDIKJ", "object": "model_permission", "created": 1626777600,
              "allow_create_engine": True, "allow_sampling": True, "allow_logprobs": True,
              "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False, "organization": "*",
              "group": None, "is_blocking": False}


def model_entry(model: str) -> dict:
    if model in MODEL_RATIOS:
        owner = model_owner(model) or "openai"
        return {"id": model, "object": "model", "created": 1626777600, "owned_by": owner,
                "permission": [PERMISSION], "root": model, "parent": None}
    return {"id": model, "object": "model", "created": 1626777600, "owned_by": "custom", "root": model,
            "parent": None}


async def _visible_models(request: Request) -> tuple[list[str], Auth, ChannelSnapshot]:
    runtime = _runtime(request)
    auth = await authenticate(runtime.cache, request)
    snapshot = await runtime.cache.channels()
    if auth.token.models is not None:
        return list(auth.token.models), auth, snapshot
    return snapshot.group_models.get(auth.user.group, []), auth, snapshot


MODEL_CREATED_AT = "2024-01-01T00:00:00Z"  # Anthropic's model objects carry a date; the gateway knows none


def anthropic_model(model: str) -> dict:
    return {"type": "model", "id": model, "display_name": model, "created_at": MODEL_CREATED_AT}


def _anthropic_client(request: Request) -> bool:
    """A client of Anthropic's SDK (it sends anthropic-version on every call): answer in its shapes."""
    return "anthropic-version" in request.headers


def _anthropic_error(request: Request, exc: AppError) -> Response:
    return Response(orjson.dumps(exc.anthropic_body(request_id(request))), status_code=exc.status,
                    media_type="application/json", headers=exc.headers)


async def list_models(request: Request):
    if wants_gemini_shape(request):  # a Gemini client (x-goog-api-key): Gemini's shape
        return await gemini_models(request)
    try:
        models, _auth, _snapshot = await _visible_models(request)
    except AppError as exc:
        if _anthropic_client(request):
            return _anthropic_error(request, exc)
        raise
    if _anthropic_client(request):
        return _json({"data": [anthropic_model(m) for m in models], "has_more": False,
                      "first_id": models[0] if models else None, "last_id": models[-1] if models else None})
    return _json({"object": "list", "data": [model_entry(m) for m in models]})


async def retrieve_model(request: Request):
    """A model this key lists, or one its group knows (a channel down for now): its entry; else OpenAI's 404,
    which the SDK raises as NotFoundError."""
    model = request.path_params["model"]
    try:
        models, auth, snapshot = await _visible_models(request)
        allowed = auth.token.models is None or model in auth.token.models
        if not (model in models or (allowed and snapshot.knows(auth.user.group, model))):
            raise ModelNotFound(model, auth.user.group)
    except AppError as exc:
        if _anthropic_client(request):
            return _anthropic_error(request, exc)
        raise
    return _json(anthropic_model(model) if _anthropic_client(request) else model_entry(model))


# -- billing compatibility -----------------------------------------------------------------------------
async def _balances(request: Request) -> tuple[dict, dict, Options]:
    runtime = _runtime(request)
    auth = await authenticate(runtime.cache, request)
    async with runtime.db.engine.connect() as conn:
        token = (await conn.execute(text(
            "SELECT remain_quota, used_quota, unlimited_quota, expired_time FROM tokens WHERE id = :id"),
            {"id": auth.token.id})).mappings().one()
        user = (await conn.execute(text("SELECT quota, used_quota FROM users WHERE id = :id"),
                                      {"id": auth.user.id})).mappings().one()
    return dict(token), dict(user), runtime.options


async def billing_subscription(request: Request):
    token, user, options = await _balances(request)
    if options.DisplayTokenStatEnabled:
        quota = token["remain_quota"] + token["used_quota"]
        access_until = token["expired_time"] if token["expired_time"] not in (None, -1) else 0
    else:  # one-api forgets used_quota here
        quota, access_until = user["quota"] + user["used_quota"], 0
    amount = quota / options.QuotaPerUnit if options.DisplayInCurrencyEnabled else quota
    if options.DisplayTokenStatEnabled and token["unlimited_quota"]:
        amount = 100_000_000
    return _json({"object": "billing_subscription", "has_payment_method": True, "soft_limit_usd": amount,
                  "hard_limit_usd": amount, "system_hard_limit_usd": amount, "access_until": access_until})


async def billing_usage(request: Request):
    token, user, options = await _balances(request)
    used = token["used_quota"] if options.DisplayTokenStatEnabled else user["used_quota"]
    return _json({"object": "list", "total_usage": used / options.QuotaPerUnit * 100})


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


RELAY_ROUTES = [
    *((e.path, relay_endpoint(e), [e.method]) for e in RELAY_ENDPOINTS),
    *MEDIA_ROUTES, *PROXY_ROUTES,  # images, audio, rerank (relay/media.py); the proxy channel (relay/proxy.py)
    *DIALECT_ROUTES,
    ("/v1/messages/count_tokens", count_tokens, ["POST"]),
    ("/v1/models", list_models, ["GET"]),
    ("/v1/models/{model}", retrieve_model, ["GET"]),
    ("/v1/dashboard/billing/subscription", billing_subscription, ["GET"]),
    ("/v1/dashboard/billing/usage", billing_usage, ["GET"]),
    ("/dashboard/billing/subscription", billing_subscription, ["GET"]),
    ("/dashboard/billing/usage", billing_usage, ["GET"]),
]
for _path, _endpoint, _methods in RELAY_ROUTES:
    router.add_route(_path, _endpoint, methods=_methods, include_in_schema=False)


async def not_implemented() -> None:
    raise NotImplementedRoute()


for _methods, _path in NOT_IMPLEMENTED:
    router.add_api_route(_path, not_implemented, methods=_methods, include_in_schema=False)
