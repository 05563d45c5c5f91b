"""Browser sockets authenticate with a first `auth` frame (browsers cannot set headers on a
WebSocket, and tokens never go in URLs): `{"v":1,"type":"auth","payload":{"token":"…"}}`."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tether.auth.principal import Principal
from tether.hub.hub import hub_of

log = logging.getLogger("tether.hub")

AUTH_FRAME_TIMEOUT_S = 10.0


async def accept_once(ws: WebSocket) -> None:
    """Accept the socket unless that already happened."""
    if ws.application_state == WebSocketState.CONNECTING:
        await ws.accept()


def has_credentials(ws: WebSocket) -> bool:
    """Did the handshake carry a header or cookie credential?"""
    return "authorization" in ws.headers or bool(ws.cookies)


async def first_frame_principal(ws: WebSocket) -> Principal | None:
    """Accept, then authenticate from the first frame (`auth` with a token), or None."""
    await accept_once(ws)
    try:
        message = await asyncio.wait_for(ws.receive_text(), AUTH_FRAME_TIMEOUT_S)
        frame = json.loads(message)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, ValueError, KeyError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        return None
    payload = frame.get("payload")
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        return None
    return await hub_of(ws).authenticator.authenticate_token(token, ws)
