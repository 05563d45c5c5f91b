"""TEST-ONLY browser sign-in, shaped like the auth contract the web UI is built against.

The real auth (users, devices, pairing) lives in another branch; until it lands, the
web tests need *something* that speaks its browser contract:

* `POST /v1/auth/browser {"code"}` — a one-time code sets an HttpOnly, SameSite=Strict
  session cookie and answers `{"user": {...}}`;
* `GET /v1/auth/me` (401 when signed out), `POST /v1/auth/logout`;
* cookie-authenticated POST/DELETE requests need `X-Tether-CSRF: 1`;
* WebSockets are authenticated by the cookie (same origin only).

Never used outside tests/.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.requests import HTTPConnection

from tether.auth.principal import Principal, bearer_token
from tether.errors import AuthError

COOKIE = "tether_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class BrowserLogins:
    """One-time codes not yet used, and the cookies handed out for them."""

    codes: dict[str, Principal] = field(default_factory=dict)
    cookies: dict[str, Principal] = field(default_factory=dict)

    def new_code(self, *, name: str = "alice", read_only: bool = False, admin: bool = True) -> str:
        """A fresh one-time sign-in code for a user."""
        code = secrets.token_hex(4).upper()
        self.codes[code] = Principal(
            id=name, name=name, user_id=name, is_admin=admin, read_only=read_only
        )
        return code


class TestAuthenticator:
    """The hub token as a bearer (runner, API clients), or a browser's session cookie."""

    def __init__(self, token: str, logins: BrowserLogins) -> None:
        self.token = token
        self.logins = logins

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """Bearer token first, then the cookie (with the CSRF header / same-origin rules)."""
        token = bearer_token(conn)
        if token is not None:
            if not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            runner = conn.url.path.startswith("/v1/runner")
            return Principal(id="local", kind="runner" if runner else "user", name="local")
        principal = self.logins.cookies.get(conn.cookies.get(COOKIE, ""))
        if principal is None:
            return None
        if conn.scope["type"] == "websocket":
            origin = conn.headers.get("origin", "")
            if origin.split("://", 1)[-1] != conn.headers.get("host"):
                return None
        elif conn.scope["method"] not in SAFE_METHODS and conn.headers.get("x-tether-csrf") != "1":
            return None
        return principal


class CodeBody(BaseModel):
    """A one-time sign-in code."""

    code: str


def user_json(principal: Principal) -> dict[str, Any]:
    """The user object of the contract."""
    return {
        "id": principal.id,
        "name": principal.name,
        "is_admin": principal.is_admin,
        "read_only": principal.read_only,
    }


def browser_auth_router(logins: BrowserLogins) -> APIRouter:
    """The contract's `/v1/auth/*` routes for the test hub."""
    router = APIRouter()

    @router.post("/v1/auth/browser")
    async def sign_in(body: CodeBody, response: Response) -> dict[str, Any]:
        principal = logins.codes.pop(body.code.strip().upper(), None)
        if principal is None:
            raise AuthError("that sign-in code is not valid (used or expired)")
        cookie = secrets.token_urlsafe(24)
        logins.cookies[cookie] = principal
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
        return {"user": user_json(principal)}

    @router.get("/v1/auth/me")
    async def me(request: Request) -> dict[str, Any]:
        principal = await request.app.state.authenticator.authenticate(request)
        if principal is None:
            raise AuthError("not signed in")
        return {"user": user_json(principal)}

    @router.post("/v1/auth/logout")
    async def logout(request: Request, response: Response) -> dict[str, Any]:
        if request.headers.get("x-tether-csrf") != "1":
            raise AuthError("missing X-Tether-CSRF header")
        logins.cookies.pop(request.cookies.get(COOKIE, ""), None)
        response.delete_cookie(COOKIE, path="/")
        return {"ok": True}

    return router
