"""The one tree of typed errors. Each error knows its HTTP status and both of its envelopes:

- ``openai_body(request_id)``: OpenAI's ``{"error": {"message", "type", "param", "code"}}`` (on ``/v1``,
  the message ends with ``(request id: ...)``), sent with ``status``;
- ``gemini_body(request_id)``: Google's ``{"error": {"code", "message", "status"}}`` (on ``/v1beta``);
- ``anthropic_body(request_id)``: Anthropic's ``{"type": "error", "error": {"type", "message"}}`` (on
  ``/v1/messages``), its type chosen by status (``anthropic_type``), sent with ``status``;
- ``api_body()``: one-api's ``{"success": false, "message"}`` (on ``/api``), sent with ``api_status``
  (401, 403 and 429 keep their status; one-api answers every other refusal with 200);
- ``headers``: extra response headers of either envelope (``Retry-After``), or None.

Messages: pass an ``i18n.msg(id, **params)`` (a message id of the table in i18n/messages.py), not a literal: the text
is rendered when the error is shown, in the LANGUAGE setting's language (``message`` is that text). Literal
strings are for texts that are not ours (an upstream's error message).

Raise them anywhere below the routes; the renderers (``api/envelopes.py`` for the FastAPI app,
``middleware.send_error`` for the fast lane and the gzip middleware, the relay's stream error event) render
any of them the same way, with no case of their own.

    AppError                 500 one_api_error      the base; anything else becomes InternalError
    ├── InternalError        500 internal_error     an unexpected exception (logged, never shown)
    ├── BadRequest           400 invalid_request_error
    ├── GzipBodyError        400 invalid_gzip_body  a gzip request body that does not inflate (413: too large)
    ├── ConfigError          400                    a bad option or setting value
    ├── NotFound             404 invalid_request_error
    │   ├── InvalidURL       404                    unknown /v1 or /api path: OpenAI's body on /api too
    │   └── ModelNotFound    404 model_not_found    a model no channel of the group lists (relay, GET /v1/models/{m})
    ├── NotImplementedRoute  501 api_not_implemented OpenAI routes the gateway does not relay
    ├── RateLimited          429                    too many /api calls from one address (with Retry-After)
    │   └── LimitExceeded    429 rate_limit_exceeded a token's or user's RPM/TPM/concurrency limit on the relay
    ├── Refused              200                    an /api request one-api refuses with HTTP 200
    │   ├── OAuthError                              an OAuth login that cannot complete
    │   ├── AccountDisabled                         binding an account to a user disabled meanwhile
    │   ├── MailError                               SMTP not configured or the mail not sent
    │   └── BalanceNotSupported                     no balance query for this channel type
    ├── RelayError           400 one_api_error      the relay cannot serve the request as sent (413: too large)
    ├── ClientGone           499 client_closed_request  the client left before its answer: nothing is sent
    ├── UpstreamFailure      (upstream's status)    the upstream answered an error or was unreachable;
    │                                               its OpenAI error object is forwarded as is
    │   └── CredentialRevoked                       the provider refused the exchanged credential: renewed once
    ├── RelayRefusal         one-api's two-key envelope {"error": {"message", "type"}}
    │   ├── AuthError        401/403/400            TokenAuth: no, invalid, expired or exhausted token...
    │   ├── BodyError        400                    the request body is not a JSON object
    │   └── NoChannel        503 (400/403 pinned)   Distribute: no channel for the group and model
    └── (the ledger's, at the end of this module: TokenQuotaExhausted 403, UserQuotaExhausted 403,
         ReservationUnavailable 503)

Not in the tree (they never reach a client): ``settings.SettingsError`` and ``runtime.StartupError`` stop
the start-up with one line.
"""

from __future__ import annotations

from .i18n import Text, msg

# HTTP status -> google.rpc.Code name, for Gemini's error envelope.
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class AppError(Exception):
    status: int = 500
    type: str = "one_api_error"
    code: str = ""
    param: str = ""
    show_request_id: bool = True
    headers: dict[str, str] | None = None  # extra response headers (e.g. Retry-After)

    def __init__(self, message: str | Text, *, status: int | None = None, type: str | None = None,
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.text = message  # a Text (oneapi_app/i18n) renders in the configured language when shown
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code
        if param is not None:
            self.param = param

    @property
    def message(self) -> str:
        return str(self.text)

    @message.setter
    def message(self, value: str) -> None:
        self.text = value

    def _message(self, request_id: str) -> str:
        if request_id and self.show_request_id:
            return f"{self.message} (request id: {request_id})"
        return self.message

    def openai_body(self, request_id: str = "") -> dict:
        return {"error": {"message": self._message(request_id), "type": self.type, "param": self.param,
                          "code": self.code}}

    @property
    def anthropic_type(self) -> str:
        """Anthropic's error type for this error (what its SDKs map to exception classes)."""
        if self.code in QUOTA_CODES:
            return "billing_error"
        return ANTHROPIC_TYPES.get(self.status, "api_error" if self.status >= 500 else "invalid_request_error")

    def anthropic_body(self, request_id: str = "") -> dict:
        body: dict = {"type": "error", "error": {"type": self.anthropic_type, "message": self._message(request_id)}}
        if request_id:
            body["request_id"] = request_id
        return body

    @property
    def api_status(self) -> int:
        return self.status if self.status in (401, 403, 429) else 200

    def api_body(self) -> dict:
        return {"success": False, "message": self.message}

    def gemini_body(self, request_id: str = "") -> dict:
        """Google's envelope (the Gemini-native /v1beta routes): the message of ``openai_body``."""
        error = self.openai_body(request_id).get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return {"error": {"code": self.status, "message": str(message or self.message),
                          "status": GOOGLE_STATUS.get(self.status, "UNKNOWN" if self.status >= 500 else
                                                      "FAILED_PRECONDITION")}}


ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                   403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                   500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
QUOTA_CODES = frozenset({"pre_consume_token_quota_failed", "insufficient_user_quota"})


class InternalError(AppError):
    """Anything unexpected: the client learns only that the server log has the story."""

    code = "internal_error"

    def __init__(self, message: str | Text | None = None) -> None:
        super().__init__(message or msg("internal_error"))


class BadRequest(AppError):
    status = 400
    type = "invalid_request_error"


class GzipBodyError(AppError):
    """A gzip request body that does not inflate (400), or whose compressed bytes are too large (413)."""

    status = 400
    code = "invalid_gzip_body"
    show_request_id = False

    def __init__(self, message: str | Text | None = None, *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message or msg("relay.gzip_invalid"), status=status, code=code)


class ConfigError(AppError):
    """Bad option or setting value offered through the API."""

    status = 400


class NotFound(AppError):
    status = 404
    type = "invalid_request_error"


class InvalidURL(NotFound):
    """An unknown /v1 or /api path: one-api's exact 404 body (no request id), on /api too (scripts match it)."""

    show_request_id = False

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"Invalid URL ({method} {path})")

    @property
    def api_status(self) -> int:
        return self.status

    def api_body(self) -> dict:
        return self.openai_body()


class ModelNotFound(NotFound):
    """A model no enabled (or auto-disabled) channel of the caller's group lists: OpenAI's 404, which SDKs do
    not retry (a 503 would be retried for a typo). On the relay and on GET /v1/models/{model}."""

    code = "model_not_found"

    def __init__(self, model: str, group: str = "default") -> None:
        super().__init__(msg("relay.model_not_found", model=model, group=group))
        self.model, self.group = model, group

    def openai_body(self, request_id: str = "") -> dict:
        return {"error": {"message": self._message(request_id), "type": self.type, "param": None,
                          "code": self.code}}


class NotImplementedRoute(AppError):
    """One of OpenAI's routes that the gateway does not relay (files, assistants...)."""

    status = 501
    code = "api_not_implemented"
    show_request_id = False

    def __init__(self) -> None:
        super().__init__("API not implemented")


class RateLimited(AppError):
    status = 429

    def __init__(self, window: float = 180) -> None:
        super().__init__(msg("too_many_requests"))
        self.headers = {"Retry-After": str(int(window))}  # the window's length: a retry after it is counted anew


class LimitExceeded(RateLimited):
    """A token's or user's requests/tokens per minute or concurrency limit (relay/limits.py), with OpenAI's
    ``x-ratelimit-*`` headers and ``Retry-After``; ``type`` is "requests" or "tokens" as OpenAI's."""

    code = "rate_limit_exceeded"

    def __init__(self, message: str | Text, kind: str, headers: dict[str, str]) -> None:
        AppError.__init__(self, message, type=kind)
        self.headers = headers


class Refused(AppError):
    """A request one-api refuses with HTTP 200 and ``{"success": false, "message"}``."""

    status = 200


class OAuthError(Refused):
    pass


class AccountDisabled(Refused):
    """The logged-in user who tried to bind an external account is disabled or gone: end their session."""


class MailError(Refused):
    pass


class BalanceNotSupported(Refused):
    pass


class RelayError(AppError):
    """An error of the relay itself (validation, conversion): type one_api_error with a snake_case code."""

    status = 400


class ClientGone(AppError):
    """The client went away before its answer: nothing is sent (the server drops it), nothing is logged as an
    error. 499 is nginx's "client closed request"."""

    status = 499
    code = "client_closed_request"


class UpstreamFailure(AppError):
    """The upstream answered an error or could not be reached. ``retryable``: 429, 5xx, network."""

    type = "upstream_error"

    def __init__(self, message: str | Text, *, status: int, retryable: bool, body: dict | None = None,
                 code: str = "", param: str = "", type: str | None = None) -> None:
        super().__init__(message, status=status, code=code, param=param, type=type)
        self.retryable = retryable
        self.body = body  # an OpenAI error object forwarded as-is

    @property
    def anthropic_type(self) -> str:
        kind = str((self.body or {}).get("type") or "")
        return kind if kind in ANTHROPIC_TYPES.values() else super().anthropic_type

    def anthropic_body(self, request_id: str = "") -> dict:
        if self.body is None or not self.body.get("message"):
            return super().anthropic_body(request_id)
        message = str(self.body["message"])
        body: dict = {"type": "error", "error": {"type": self.anthropic_type,
                                                 "message": f"{message} (request id: {request_id})" if request_id
                                                 else message}}
        if request_id:
            body["request_id"] = request_id
        return body

    def openai_body(self, request_id: str = "") -> dict:
        if self.body is None:
            return super().openai_body(request_id)
        error = dict(self.body)
        message = str(error.get("message") or self.message)
        error["message"] = f"{message} (request id: {request_id})" if request_id else message
        return {"error": error}


class CredentialRevoked(UpstreamFailure):
    """The provider refused the exchanged credential (an access token revoked or expired early) in an answer
    whose status does not tell it (Baidu: HTTP 200 with error_code 110/111). The pipeline forgets the cached
    credential and makes the attempt once more on the same channel with a fresh exchange; a second refusal
    fails the attempt like any retryable upstream error."""


class RelayRefusal(AppError):
    """What one-api's relay middlewares (TokenAuth, Distribute) refuse: ``{"error": {"message": "... (request
    id: ...)", "type": "one_api_error"}}``, without param and code."""

    def __init__(self, message: str | Text, status: int | None = None) -> None:
        super().__init__(message, status=status)

    def openai_body(self, request_id: str = "") -> dict:
        return {"error": {"message": self._message(request_id), "type": self.type}}


class AuthError(RelayRefusal):
    """TokenAuth: the key is missing, unknown, expired, exhausted, outside its subnet or not allowed the model."""


class BodyError(RelayRefusal):
    """The relay request's body is empty, not JSON or not a JSON object."""

    status = 400


class NoChannel(RelayRefusal):
    """Distribute: no enabled channel serves the group and model (503), or the pinned channel is invalid (400)
    or disabled (403)."""

    status = 503


# --- money: the ledger's refusals (services/ledger) -----------------------------------------------------
class TokenQuotaExhausted(AppError):
    """The token's remaining quota cannot cover the reservation (the database refused it)."""

    status = 403
    code = "pre_consume_token_quota_failed"

    def __init__(self) -> None:
        super().__init__(msg("quota.token_not_enough"))


class UserQuotaExhausted(AppError):
    """The user's quota cannot cover the reservation (the database refused it)."""

    status = 403
    code = "insufficient_user_quota"

    def __init__(self) -> None:
        super().__init__(msg("quota.user_not_enough"))


class ReservationUnavailable(AppError):
    """The database could not be asked (it failed or the node is shutting down): nothing was held."""

    status = 503
    code = "reserve_quota_failed"

    def __init__(self) -> None:
        super().__init__(msg("quota.busy"))
