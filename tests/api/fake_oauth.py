"""A local fake OAuth 2 / OIDC provider (GitHub-shaped and OIDC-shaped endpoints) served by uvicorn in a
thread, for the end-to-end login tests."""

from __future__ import annotations

import secrets
import threading
import time
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from tests.local_server import free_port

CLIENT_ID = "client-123"
CLIENT_SECRET = "secret-456"


class FakeProvider:
    def __init__(self) -> None:
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.user = {"login": "octocat", "name": "The Octocat", "email": "octo@example.com"}
        self.oidc_user = {"sub": "sub-42", "preferred_username": "olivia", "email": "olivia@example.com",
                          "name": "Olivia"}
        self.token_requests: list[dict] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def authorize(request: Request):
            q = request.query_params
            if q.get("client_id") != CLIENT_ID:
                return JSONResponse({"error": "bad client"}, status_code=400)
            code = secrets.token_hex(8)
            who = self.oidc_user if request.url.path.startswith("/oidc") else self.user
            self.codes[code] = dict(who)
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        async def token(request: Request):
            form = dict(await request.form())
            self.token_requests.append(form)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            who = self.codes.pop(form.get("code", ""), None)
            if who is None:
                return JSONResponse({"error": "bad_verification_code"}, status_code=400)
            access = secrets.token_hex(12)
            self.tokens[access] = who
            return JSONResponse({"access_token": access, "token_type": "bearer", "scope": "user:email"})

        async def user(request: Request):
            auth = request.headers.get("authorization", "")
            who = self.tokens.get(auth.removeprefix("Bearer ").removeprefix("bearer "))
            if who is None:
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return JSONResponse(who)

        async def well_known(request: Request):
            return JSONResponse({"issuer": self.base, "authorization_endpoint": f"{self.base}/oidc/authorize",
                                 "token_endpoint": f"{self.base}/oidc/token",
                                 "userinfo_endpoint": f"{self.base}/oidc/userinfo"})

        return Starlette(routes=[
            Route("/login/oauth/authorize", authorize), Route("/login/oauth/access_token", token, methods=["POST"]),
            Route("/api/user", user), Route("/.well-known/openid-configuration", well_known),
            Route("/oidc/authorize", authorize), Route("/oidc/token", token, methods=["POST"]),
            Route("/oidc/userinfo", user),
        ])

    def start(self) -> None:
        self.port = free_port()
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake OAuth provider did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
