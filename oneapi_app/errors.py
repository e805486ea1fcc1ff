"""Typed errors: each knows its HTTP status and its OpenAI ``type``/``code``.

Raise them anywhere below the routes; the error handlers installed by ``api.create_api`` render them in
the envelope of the path: OpenAI ``{"error": {...}}`` on ``/v1``, ``{"success": false, "message"}`` on ``/api``.
"""

from __future__ import annotations


class AppError(Exception):
    status: int = 500
    type: str = "one_api_error"
    code: str = ""
    param: str = ""
    show_request_id: bool = True
    headers: dict[str, str] | None = None  # extra response headers (e.g. Retry-After)

    def __init__(self, message: str, *, status: int | None = None, type: str | None = None,
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code
        if param is not None:
            self.param = param

    def openai_body(self, request_id: str = "") -> dict:
        message = self.message
        if request_id and self.show_request_id:
            message = f"{message} (request id: {request_id})"
        return {"error": {"message": message, "type": self.type, "param": self.param, "code": self.code}}


class BadRequest(AppError):
    status = 400
    type = "invalid_request_error"


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404
    type = "invalid_request_error"


class InvalidURL(NotFound):
    """An unknown /v1 or /api path: one-api's exact 404 body, without a request id."""

    show_request_id = False

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"Invalid URL ({method} {path})")


class NotImplementedRoute(AppError):
    """One of OpenAI's routes that the gateway does not relay (files, assistants...)."""

    status = 501
    code = "api_not_implemented"
    show_request_id = False

    def __init__(self) -> None:
        super().__init__("API not implemented")


class QuotaExceeded(AppError):
    status = 403
    code = "insufficient_user_quota"


class NoChannel(AppError):
    status = 503


class UpstreamError(AppError):
    status = 502
    type = "upstream_error"


class ConfigError(AppError):
    """Bad option or setting value offered through the API."""

    status = 400


# --- money: the ledger's refusals (services/ledger) -----------------------------------------------------
class TokenQuotaExhausted(AppError):
    """The token's remaining quota cannot cover the reservation (the database refused it)."""

    status = 403
    code = "pre_consume_token_quota_failed"

    def __init__(self) -> None:
        super().__init__("令牌额度不足 (token quota is not enough)")


class UserQuotaExhausted(AppError):
    """The user's quota cannot cover the reservation (the database refused it)."""

    status = 403
    code = "insufficient_user_quota"

    def __init__(self) -> None:
        super().__init__("user quota is not enough")


class ReservationUnavailable(AppError):
    """The database could not be asked (it failed or the node is shutting down): nothing was held."""

    status = 503
    code = "reserve_quota_failed"

    def __init__(self) -> None:
        super().__init__("the database could not reserve quota for this request; please retry")
