"""Sockets and their credentials: the first-frame `auth` and what it may cost before anyone
is authenticated, and the expiry of the credential an open socket runs on.

Browser sockets may authenticate with a first `auth` frame (browsers cannot set headers
on a WebSocket, and tokens never go in URLs): `{"v":1,"type":"auth","payload":{"token":
"…"}}`. Any open socket renews its credential with the same frame before it expires
(`SocketCredential`; docs/security.md, "Expiry on open sockets")."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tether.auth.device_auth import client_address
from tether.auth.principal import Principal
from tether.auth.tokens import looks_like_jwt
from tether.hub.hub import hub_of
from tether.hub.sockets import close_quietly
from tether.protocol.codec import encode_frame
from tether.protocol.messages import CloseCode

log = logging.getLogger("tether.hub")

AUTH_FRAME_TIMEOUT_S = 3.0
"""A socket without credentials must send its `auth` frame this soon."""
MAX_AUTH_FRAME_BYTES = 4096
"""An `auth` frame is a token in a small envelope; anything longer is refused unread."""
MAX_AUTH_TOKEN_CHARS = 2048
"""Longer than any token tether mints (a session token is ~300 characters)."""


async def accept_once(ws: WebSocket) -> None:
    """Accept the socket unless that already happened."""
    if ws.application_state == WebSocketState.CONNECTING:
        await ws.accept()


def has_credentials(ws: WebSocket) -> bool:
    """Did the handshake carry a header or cookie credential?"""
    return "authorization" in ws.headers or bool(ws.cookies)


async def first_frame_principal(ws: WebSocket) -> Principal | None:
    """Accept, then authenticate from the first frame (`auth` with a token), or None.

    Before anyone is authenticated nothing costly happens (issue #11, finding 6): an
    address holds at most `MAX_PREAUTH_PER_ADDRESS` such sockets at once (more are closed
    with 1008), the frame must come within `AUTH_FRAME_TIMEOUT_S`, and a frame over
    `MAX_AUTH_FRAME_BYTES` is closed with 1009 by its length alone — never parsed."""
    await accept_once(ws)
    hub = hub_of(ws)
    with hub.preauth.hold(client_address(ws)) as admitted:
        if not admitted:
            log.info("refused an unauthenticated socket from %s: too many", client_address(ws))
            await close_quietly(
                ws,
                CloseCode.POLICY,
                "too many unauthenticated connections from your address: send 'auth' first",
            )
            return None
        token = await _auth_frame_token(ws)
        if token is None:
            return None
        return await hub.authenticator.authenticate_token(token, ws)


async def _auth_frame_token(ws: WebSocket) -> str | None:
    try:
        message = await asyncio.wait_for(ws.receive(), AUTH_FRAME_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        return None
    if message["type"] != "websocket.receive":
        return None
    text = message.get("text")
    # `len` of a str is free; the encoded size is checked only once that is small.
    if (
        text is None
        or len(text) > MAX_AUTH_FRAME_BYTES
        or len(text.encode()) > MAX_AUTH_FRAME_BYTES
    ):
        await close_quietly(
            ws,
            CloseCode.TOO_BIG,
            f"the first frame must be an 'auth' text frame of at most {MAX_AUTH_FRAME_BYTES} bytes",
        )
        return None
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        return None
    payload = frame.get("payload")
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token or len(token) > MAX_AUTH_TOKEN_CHARS:
        return None
    return token


EXPIRY_POLL_S = 0.25
"""How often an open socket's credential is checked against the clock: expiry closes it
within this (well under a second), and a clock moved forward in a test is seen too."""


class SocketCredential:
    """The credential an open socket runs on, and what happens when it runs out.

    A session token or share link expires; a socket it opened is closed then (4001, with
    a reason saying so) — unless the client sent an `auth` frame with a fresh token of
    the same device (or the same share link) first: `{"type": "auth", "payload":
    {"token": …}}`, answered by `authenticated {expires_in}` or an `auth_refused` error
    (the socket then keeps its old deadline). Browsers, which cannot read their cookie,
    renew with the `socket_token` that `POST /v1/auth/refresh` returns."""

    def __init__(self, ws: WebSocket, principal: Principal) -> None:
        self.ws = ws
        self.principal = principal
        self.expires_at = principal.expires_at
        self._clock = hub_of(ws).auth.clock

    async def renew(self, payload: dict[str, object]) -> str:
        """Handle an in-band `auth` frame's payload; the frame to send back."""
        token = payload.get("token")
        renewed: Principal | None = None
        if isinstance(token, str) and 0 < len(token) <= MAX_AUTH_TOKEN_CHARS:
            hub = hub_of(self.ws)
            if looks_like_jwt(token):
                renewed = await hub.auth.principal_for_access(token, renewal=True)
            else:
                renewed = await hub.authenticator.authenticate_token(token, self.ws)
        if renewed is None or not _same_holder(renewed, self.principal):
            return encode_frame(
                "error",
                {
                    "code": "auth_refused",
                    "message": "this token does not renew this connection: it is invalid,"
                    " expired, or another device's; the connection closes when its own expires",
                },
            )
        self.expires_at = renewed.expires_at
        return encode_frame("authenticated", {"expires_in": self.expires_in()})

    def expires_in(self) -> float | None:
        """Seconds until the credential runs out (None: it does not)."""
        return None if self.expires_at is None else max(0.0, self.expires_at - self._clock())

    async def enforce(self, close: Callable[[int, str], Awaitable[None]]) -> None:
        """Return (after closing the socket) once the credential has run out."""
        while True:
            if self.expires_at is None:
                await asyncio.Event().wait()  # a credential that does not expire
            remaining = (self.expires_at or 0.0) - self._clock()
            if remaining <= 0:
                what = "share link" if self.principal.kind == "share" else "session token"
                log.info("closing a socket of %s: its %s expired", self.principal.id, what)
                await close(
                    CloseCode.UNAUTHORIZED,
                    f"expired: the {what} ran out; reconnect (or renew in-band with an"
                    " 'auth' frame before expiry)",
                )
                return
            await asyncio.sleep(min(remaining, EXPIRY_POLL_S))


def _same_holder(renewed: Principal, current: Principal) -> bool:
    """May `renewed` take over `current`'s connection? Only the same device (or link)."""
    return (renewed.id, renewed.kind, renewed.user_id, renewed.session_scope) == (
        current.id,
        current.kind,
        current.user_id,
        current.session_scope,
    )
