"""A WebSocket transport for the official `mcp` client (`ClientSession`), for `/mcp/ws`.

    async with websocket_client(url, headers={"Authorization": f"Bearer {token}"}) as (r, w):
        async with ClientSession(r, w) as session:
            await session.initialize()

One JSON-RPC message per text frame, subprotocol `mcp`. A refused handshake
(bad or missing token) raises `AuthError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from tether.errors import AuthError, Forbidden

log = logging.getLogger("tether.mcp")

Streams = tuple[
    MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]
]


@asynccontextmanager
async def websocket_client(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    ssl: Any = None,
    open_timeout: float = 10.0,
) -> AsyncIterator[Streams]:
    """Connect to an MCP WebSocket endpoint; yield (read, write) streams for `ClientSession`."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            websocket = await stack.enter_async_context(
                connect(
                    url,
                    subprotocols=[Subprotocol("mcp")],
                    additional_headers=dict(headers or {}),
                    ssl=ssl,
                    open_timeout=open_timeout,
                    max_size=64 * 1024 * 1024,
                )
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                raise AuthError(
                    f"the MCP endpoint refused the connection (HTTP {status})",
                    hint="pass `Authorization: Bearer <token>`",
                ) from None
            if status == 403:
                raise Forbidden(
                    f"the MCP endpoint refused the connection (HTTP {status})"
                ) from None
            raise
        inbound_send, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](16)
        outbound, outbound_receive = anyio.create_memory_object_stream[SessionMessage](16)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_read_frames, websocket, inbound_send)
            tasks.start_soon(_write_frames, websocket, outbound_receive)
            try:
                yield inbound, outbound
            finally:
                tasks.cancel_scope.cancel()


async def _read_frames(
    websocket: ClientConnection, inbound: MemoryObjectSendStream[SessionMessage | Exception]
) -> None:
    async with inbound:
        try:
            async for frame in websocket:
                text = frame if isinstance(frame, str) else frame.decode()
                try:
                    message = mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
                except ValidationError as exc:
                    await inbound.send(exc)
                    continue
                await inbound.send(SessionMessage(message))
        except ConnectionClosed as exc:
            log.debug("mcp ws: connection closed: %s", exc)


async def _write_frames(
    websocket: ClientConnection, outbound: MemoryObjectReceiveStream[SessionMessage]
) -> None:
    async with outbound:
        async for item in outbound:
            await websocket.send(item.message.model_dump_json(by_alias=True, exclude_unset=True))
