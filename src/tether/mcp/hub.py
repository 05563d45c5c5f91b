"""tether's MCP server inside the hub: streamable HTTP at `/mcp`, WebSocket at `/mcp/ws`.

Both endpoints authenticate with the hub's own authenticator (`Authorization:
Bearer <token>`, the same token as the rest of the hub) before anything else:
HTTP answers 401, a WebSocket handshake is refused with 401 before it is
accepted. The principal goes into the request scope, where the tools find it.
Each streamable-HTTP MCP session is bound to the principal that opened it (the
SDK answers 404 to anyone else presenting its session id).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tether.auth.principal import Principal
from tether.hub.hub import hub_of
from tether.hub.sockets import close_quietly
from tether.hub.ws_auth import SocketCredential
from tether.mcp.access import SCOPE_PRINCIPAL, InHubAccess
from tether.mcp.pool import ConversationPool
from tether.mcp.service import TeamService
from tether.mcp.tools import build_server
from tether.mcp.websocket import serve_websocket
from tether.tasks import run_first_completed

log = logging.getLogger("tether.mcp")

HTTP_PATH = "/mcp"
WS_PATH = "/mcp/ws"
DEFAULT_IDLE_TIMEOUT_S = 1800.0


class HubMcp:
    """The MCP endpoints of one hub app, and what must run while the app runs."""

    def __init__(
        self,
        app: FastAPI,
        *,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT_S,
        sweep_interval: float = 30.0,
    ) -> None:
        self.app = app
        self.access = InHubAccess(app)
        self.service = TeamService(self.access, ConversationPool(idle_timeout))
        self.server = build_server(self.service)
        # MCPServer has no public handle for running on custom streams; its low-level
        # server is what the SDK's own transports drive.
        self.lowlevel: Server[Any] = self.server._lowlevel_server
        self.sessions = StreamableHTTPSessionManager(app=self.lowlevel)
        self.sweep_interval = sweep_interval

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the streamable-HTTP session manager and the idle sweeper (the app's lifespan)."""
        async with self.sessions.run(), anyio.create_task_group() as tasks:
            tasks.start_soon(self.service.sweep_idle, self.sweep_interval)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    async def _authenticate(self, conn: HTTPConnection) -> tuple[Principal | None, Response | None]:
        principal = await hub_of(self.app).authenticator.authenticate(conn)
        if principal is None:
            return None, _refusal(
                401,
                "unauthorized",
                "missing or invalid token",
                "pass `Authorization: Bearer <token>` (see `tether up` output)",
            )
        # Like the hub's viewer API: runners are refused; so are share links (one session,
        # read-only), which have no business messaging teams.
        if principal.kind in ("runner", "share") or principal.session_scope is not None:
            return None, _refusal(
                403, "forbidden", "only user credentials can use tether's MCP tools", None
            )
        return principal, None

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI app for `/mcp` (streamable HTTP)."""
        principal, refusal = await self._authenticate(HTTPConnection(scope))
        if principal is None:
            assert refusal is not None
            await refusal(scope, receive, send)
            return
        scope[SCOPE_PRINCIPAL] = principal
        # The SDK binds each MCP session to the identity in scope["user"].
        scope["user"] = AuthenticatedUser(
            AccessToken(
                token=f"principal:{principal.id}",
                client_id=principal.id,
                scopes=[],
                subject=principal.device_id or principal.user_id,
            )
        )
        await self.sessions.handle_request(scope, receive, send)

    async def handle_websocket(self, websocket: WebSocket) -> None:
        """`/mcp/ws`: authenticate the handshake, then serve MCP on the socket."""
        principal, refusal = await self._authenticate(websocket)
        if principal is None:
            assert refusal is not None
            log.info("mcp ws: refused a handshake from %s", websocket.client)
            if "websocket.http.response" in websocket.scope.get("extensions", {}):
                await websocket.send_denial_response(refusal)
            else:
                await websocket.close(1008, "unauthorized")
            return
        websocket.scope[SCOPE_PRINCIPAL] = principal
        credential = SocketCredential(websocket, principal)

        async def close(code: int, reason: str) -> None:
            await close_quietly(websocket, code, reason)

        await run_first_completed(
            serve_websocket(websocket, self.lowlevel, renew=credential.renew),
            credential.enforce(close),
        )


class _AsgiEndpoint:
    """Makes Starlette route to a raw ASGI callable (a bound method would be taken as a
    request-response function)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope, receive, send)


def _refusal(status: int, code: str, message: str, hint: str | None) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "hint": hint}},
        status_code=status,
        headers=headers,
    )


def mount_mcp(app: FastAPI, **options: Any) -> HubMcp:
    """Add `/mcp` and `/mcp/ws` to the hub app; enter `HubMcp.running()` in its lifespan."""
    mcp = HubMcp(app, **options)
    app.router.routes.append(Route(HTTP_PATH, endpoint=_AsgiEndpoint(mcp.handle_http)))
    app.router.routes.append(WebSocketRoute(WS_PATH, endpoint=mcp.handle_websocket))
    return mcp
