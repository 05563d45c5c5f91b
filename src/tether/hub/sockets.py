"""Helpers shared by the hub's WebSocket endpoints: receive with limits, heartbeats, closing."""

from __future__ import annotations

import asyncio
import contextlib
import time

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tether.errors import FrameTooLarge, ProtocolError
from tether.protocol.codec import Envelope, decode, encode, encode_frame, make


class Heard:
    """When a peer was last heard from."""

    def __init__(self) -> None:
        self.at = time.monotonic()

    def touch(self) -> None:
        """Note a frame from the peer."""
        self.at = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the peer was last heard."""
        return time.monotonic() - self.at


async def receive_envelope(
    ws: WebSocket, max_bytes: int, heard: Heard
) -> Envelope | ProtocolError | None:
    """The next frame decoded; a ProtocolError value for a bad one (the caller reports it
    and carries on); None when the peer has gone."""
    try:
        message = await ws.receive()
    except WebSocketDisconnect:
        return None
    if message["type"] == "websocket.disconnect":
        return None
    heard.touch()
    text = message.get("text")
    if text is None:
        data = message.get("bytes")
        if data is None:
            return ProtocolError("empty frame")
        text = data
    try:
        return decode(text, max_bytes=max_bytes)
    except FrameTooLarge as exc:
        return exc
    except ProtocolError as exc:
        return exc


def error_frame(
    exc: ProtocolError | Exception, ref: str | None = None, code: str | None = None
) -> str:
    """An `error` frame for an exception."""
    payload = {"code": code or getattr(exc, "code", "error"), "message": str(exc)}
    if ref:
        payload["ref"] = ref
    return encode_frame("error", payload)


async def close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    """Close if still open; never raise."""
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(Exception):
        await ws.close(code, reason[:120])


async def heartbeat(
    ws: WebSocket,
    heard: Heard,
    interval: float,
    dead_after: float,
    send: asyncio.Queue[str] | None = None,
) -> None:
    """Ping every `interval`; close the socket when the peer has been silent `dead_after`."""
    while True:
        await asyncio.sleep(interval)
        if heard.silent_for() > dead_after:
            await close_quietly(ws, 4009, "heartbeat timeout")
            return
        if send is not None:
            send.put_nowait(encode(make("ping")))
        else:
            await ws.send_text(encode(make("ping")))
