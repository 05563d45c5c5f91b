"""Helpers shared by the hub's WebSocket endpoints: receive with limits, error frames, closing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tether.errors import FrameTooLarge, ProtocolError
from tether.heartbeat import Heard
from tether.protocol.codec import Envelope, decode, encode_frame


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


async def envelopes(
    ws: WebSocket, max_bytes: int, heard: Heard, *, report: Callable[[str], Awaitable[None]]
) -> AsyncIterator[Envelope]:
    """Every frame decoded, until the peer goes; a bad one is answered with an `error`
    frame (sent by `report`) and skipped."""
    while True:
        env = await receive_envelope(ws, max_bytes, heard)
        if env is None:
            return
        if isinstance(env, ProtocolError):
            await report(error_frame(env))
            continue
        yield env


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
