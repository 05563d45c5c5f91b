"""The official `mcp` client (ClientSession) connected to tether over each transport."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tether.mcp import websocket_client

TRANSPORTS = ("stdio", "http", "ws")


def auth_headers(token: str | None) -> dict[str, str]:
    """An Authorization header for `token` (none for None)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


@contextlib.asynccontextmanager
async def http_streams(url: str, token: str | None) -> AsyncIterator[Any]:
    """Streamable HTTP to `<hub>/mcp`."""
    client = httpx2.AsyncClient(headers=auth_headers(token), timeout=httpx2.Timeout(30, read=300))
    async with client, streamable_http_client(f"{url}/mcp", http_client=client) as streams:
        yield streams


@contextlib.asynccontextmanager
async def ws_streams(url: str, token: str | None) -> AsyncIterator[Any]:
    """WebSocket to `<hub>/mcp/ws`."""
    async with websocket_client(
        url.replace("http://", "ws://") + "/mcp/ws", headers=auth_headers(token)
    ) as streams:
        yield streams


@contextlib.asynccontextmanager
async def stdio_streams(url: str, token: str | None) -> AsyncIterator[Any]:
    """`python -m tether mcp --hub URL` as a subprocess, token through TETHER_TOKEN."""
    env = {k: v for k, v in os.environ.items() if k != "TETHER_TOKEN"}
    if token:
        env["TETHER_TOKEN"] = token
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "tether", "mcp", "--hub", url], env=env
    )
    async with stdio_client(params) as streams:
        yield streams


STREAMS = {"stdio": stdio_streams, "http": http_streams, "ws": ws_streams}


@contextlib.asynccontextmanager
async def mcp_session(transport: str, url: str, token: str | None) -> AsyncIterator[ClientSession]:
    """An initialized ClientSession to tether's MCP server over `transport`."""
    async with (
        STREAMS[transport](url, token) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: CallToolResult) -> str:
    """All text content of a tool result."""
    return "\n".join(getattr(block, "text", "") for block in result.content)
