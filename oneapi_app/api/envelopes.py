"""One error renderer per envelope: OpenAI ``{"error": {...}}`` under /v1, ``{success, message}`` under /api.

Installed on the FastAPI app by ``api.create_api``; no route builds an error body by hand.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import AppError, BadRequest, InternalError, InvalidURL
from ..i18n import Text, msg
from ..middleware import envelope_for, request_id

log = logging.getLogger(__name__)


def is_api_path(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def api_success(data: object = None, message: str = "") -> dict:
    return {"success": True, "message": message, "data": data}


def render_app_error(request: Request, exc: AppError) -> JSONResponse:
    """Any error of the tree (errors.py) in the envelope of the path, with its extra headers (Retry-After)."""
    if is_api_path(request):
        return JSONResponse(exc.api_body(), status_code=exc.api_status, headers=exc.headers)
    envelope = envelope_for(request.url.path, exc, request_id(request))
    if envelope is not None:  # /v1/messages: Anthropic's envelope
        return JSONResponse(envelope, status_code=exc.status, headers=exc.headers)
    return JSONResponse(exc.openai_body(request_id(request)), status_code=exc.status, headers=exc.headers)


def _validation_message(exc: RequestValidationError) -> Text:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return msg("api.invalid_request", detail="; ".join(parts))


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return render_app_error(request, exc)

    @api.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return render_app_error(request, BadRequest(_validation_message(exc), code="invalid_request"))

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            return render_app_error(request, InvalidURL(request.method, request.url.path))
        return render_app_error(request, AppError(str(exc.detail), status=exc.status_code))

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s (request id %s)", request.method, request.url.path,
                      request_id(request))
        return render_app_error(request, InternalError())
