"""Operations routes outside /api's rate limit and envelope rules: ``GET /api/health`` (readiness: 200 when
the database and Redis -- if configured -- answer, 503 otherwise, each check named) and ``GET /metrics``
(Prometheus text, when ENABLE_PROMETHEUS is set; 404 otherwise: see oneapi_app/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..errors import InvalidURL
from ..metrics import CONTENT_TYPE
from .deps import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/api/health")
async def health(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"success": ready, "message": "" if ready else "not ready", "data": checks},
                        status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics")
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    if runtime.metrics is None:
        raise InvalidURL(request.method, request.url.path)
    return Response(await runtime.metrics.render(runtime), media_type=CONTENT_TYPE)
