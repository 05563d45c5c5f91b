"""`/v1/live` (a WebSocket): the signed-in user's sessions, pushed whenever one of them
changes — the web UI's sessions list, page titles and favicon count live on it.

Each `sessions` event is the whole list as the user may see it, sessions that need them
first (waiting for a permission answer), then running ones, newest activity first; each
with `last_activity` (the time of its newest event) and the number of requests waiting
for this user (`pending`). Changes are coalesced (at most a few frames a second); a
`ping` every 15 s keeps proxies from closing a quiet socket. Revoking the browser closes
it at once (4001). A socket rather than Server-Sent Events because the server closes
sockets when it shuts down, while an endless HTTP response would hold a restart up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from tether.auth.principal import Principal
from tether.hub.broker import Broker
from tether.hub.hub import hub_of
from tether.hub.observers import SessionChange
from tether.hub.routes import authenticate
from tether.hub.sockets import close_quietly
from tether.hub.ws_auth import MAX_AUTH_FRAME_BYTES, SocketCredential
from tether.protocol.codec import encode, make
from tether.protocol.messages import CloseCode, SessionInfo
from tether.tasks import run_first_completed

live_router = APIRouter()

COALESCE_S = 0.25
KEEPALIVE_S = 15.0


def last_activity(broker: Broker, info: SessionInfo) -> float:
    """When the session's newest event happened (its creation, before any event)."""
    live = broker.sessions.get(info.id)
    if live is not None and live.recent:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return float(json.loads(live.recent[-1][1])["ts"])
    return max(info.updated_at, info.created_at)


def _order(listed: tuple[SessionInfo, float]) -> tuple[int, int, float]:
    info, active_at = listed
    running = info.state not in ("exited",)
    return (0 if info.pending_permissions else 1, 0 if running else 1, -active_at)


async def sessions_snapshot(conn: HTTPConnection, principal: Principal) -> dict[str, Any]:
    """The sessions `principal` may see, ordered for the list, and their pending count."""
    hub = hub_of(conn)
    broker, policy = hub.broker, hub.policy
    listed = [
        (info, last_activity(broker, info))
        for info in await broker.list_sessions()
        if await policy.can_view_info(principal, info)
    ]
    listed.sort(key=_order)
    return {
        "sessions": [{**info.model_dump(), "last_activity": at} for info, at in listed],
        "pending": sum(info.pending_permissions for info, _ in listed),
    }


@live_router.websocket("/v1/live")
async def live_sessions(ws: WebSocket) -> None:
    """The signed-in user's sessions: a `sessions` frame now and whenever they change."""
    principal = await authenticate(ws)
    await ws.accept()
    if principal is None:
        await close_quietly(ws, CloseCode.UNAUTHORIZED, "unauthorized: sign in again")
        return
    if principal.kind != "user" or principal.user_id is None:
        await close_quietly(ws, CloseCode.FORBIDDEN, "forbidden: a share link has no sessions list")
        return
    changed = asyncio.Event()

    def watch(_change: SessionChange) -> None:
        changed.set()

    async def close(code: int, reason: str) -> None:
        await close_quietly(ws, code, reason)

    hub = hub_of(ws)
    unsubscribe = hub.broker.observers.subscribe(watch)
    try:
        credential = SocketCredential(ws, principal)
        # When the page must renew (an `auth` frame with its `socket_token`) before 4001.
        await ws.send_text(encode(make("authenticated", {"expires_in": credential.expires_in()})))
        with hub.live.track(principal, close):
            await run_first_completed(
                _send(ws, principal, changed), _drain(ws, credential), credential.enforce(close)
            )
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the browser went away (or the hub is shutting down)
    finally:
        unsubscribe()


async def _send(ws: WebSocket, principal: Principal, changed: asyncio.Event) -> None:
    sent = ""
    while True:
        changed.clear()
        snapshot = await sessions_snapshot(ws, principal)
        text = json.dumps(snapshot, sort_keys=True)
        if text != sent:
            await ws.send_text(encode(make("sessions", snapshot)))
            sent = text
        try:
            await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
        except TimeoutError:
            await ws.send_text(encode(make("ping")))
        await asyncio.sleep(COALESCE_S)


async def _drain(ws: WebSocket, credential: SocketCredential) -> None:
    """Read what the page sends until it goes away: `auth` frames renew the socket's
    credential (tether.hub.ws_auth); anything else is ignored."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text and len(text) <= MAX_AUTH_FRAME_BYTES and '"auth"' in text:
            with contextlib.suppress(ValueError):
                frame = json.loads(text)
                if isinstance(frame, dict) and frame.get("type") == "auth":
                    payload = frame.get("payload")
                    reply = await credential.renew(payload if isinstance(payload, dict) else {})
                    await ws.send_text(reply)
