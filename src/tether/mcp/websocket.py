"""MCP over WebSocket: the official SDK's server on a Starlette WebSocket.

The SDK's current major has no WebSocket transport, so this module bridges one:
each text frame carries exactly one JSON-RPC message (no batching, no line
framing), in both directions, and the SDK's server runs over a pair of anyio
memory streams. The `mcp` subprotocol is selected when the client offers it
(as the v1 SDK's client did).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp.types as mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.lowlevel.server import Server
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

log = logging.getLogger("tether.mcp")

SUBPROTOCOL = "mcp"
# Close codes (RFC 6455): 1003 "cannot accept this data type" for binary frames.
CLOSE_UNSUPPORTED_DATA = 1003

Renew = Callable[[dict[str, object]], Awaitable[str]]
"""Renews the socket's credential from an `auth` frame's payload; returns the reply frame."""


async def serve_websocket(
    websocket: WebSocket, server: Server[Any], *, renew: Renew | None = None
) -> None:
    """Accept `websocket` (already authenticated) and serve MCP on it until either side closes.

    With `renew`, a tether `auth` frame (`{"v":1,"type":"auth","payload":{"token":…}}`,
    not JSON-RPC) renews the socket's credential in-band; `renew` returns the reply."""
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    inbound_send, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    outbound, outbound_receive = anyio.create_memory_object_stream[SessionMessage](16)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_read_frames, websocket, inbound_send, outbound.clone(), renew)
        tasks.start_soon(_write_frames, websocket, outbound_receive)
        # Returns when the inbound stream ends (the client left); it closes `outbound`.
        await server.run(inbound, outbound, server.create_initialization_options())
        tasks.cancel_scope.cancel()
    if (
        websocket.client_state is WebSocketState.CONNECTED
        and websocket.application_state is WebSocketState.CONNECTED
    ):
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close()


async def _read_frames(
    websocket: WebSocket,
    inbound: MemoryObjectSendStream[SessionMessage | Exception],
    replies: MemoryObjectSendStream[SessionMessage],
    renew: Renew | None,
) -> None:
    # Handlers see the socket as the request (headers, the principal in its scope),
    # the way streamable HTTP hands them its Starlette Request.
    metadata = ServerMessageMetadata(request_context=websocket)
    async with inbound, replies:
        while True:
            try:
                frame = await websocket.receive()
            except WebSocketDisconnect:
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                log.info("mcp ws: binary frame refused; closing")
                await websocket.close(CLOSE_UNSUPPORTED_DATA, "one JSON-RPC message per text frame")
                return
            auth = _auth_payload(text) if renew is not None else None
            if renew is not None and auth is not None:
                await websocket.send_text(await renew(auth))
                continue
            try:
                message = mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
            except ValidationError as exc:
                # JSON-RPC: what is not a message gets a parse error (id null); the
                # connection carries on.
                log.info("mcp ws: not a JSON-RPC message: %s", exc.errors()[0].get("msg"))
                await replies.send(SessionMessage(_parse_error()))
                continue
            await inbound.send(SessionMessage(message, metadata=metadata))


def _auth_payload(text: str) -> dict[str, object] | None:
    """The payload of a tether `auth` frame (never a JSON-RPC message), else None."""
    if '"auth"' not in text or len(text) > 4096:
        return None
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth" or "jsonrpc" in frame:
        return None
    payload = frame.get("payload")
    return payload if isinstance(payload, dict) else {}


def _parse_error() -> mcp_types.JSONRPCError:
    return mcp_types.JSONRPCError(
        jsonrpc="2.0",
        id=None,
        error=mcp_types.ErrorData(
            code=mcp_types.PARSE_ERROR, message="each text frame must hold one JSON-RPC message"
        ),
    )


async def _write_frames(
    websocket: WebSocket, outbound: MemoryObjectReceiveStream[SessionMessage]
) -> None:
    async with outbound:
        async for item in outbound:
            text = item.message.model_dump_json(by_alias=True, exclude_unset=True)
            try:
                await websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError) as exc:
                log.info("mcp ws: client went away while sending: %s", exc)
                return
