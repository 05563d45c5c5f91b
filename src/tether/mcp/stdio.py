"""`tether mcp`: tether's MCP tools on stdio, talking to a hub over its HTTP API.

An MCP client (Claude Code, Codex …) starts this as a subprocess. It is as
trusted as whoever started it: it acts with the local hub token, so the hub
authenticates every call it makes.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from tether.client.http import HubClient, TokenProvider
from tether.errors import AuthError, HubUnreachable
from tether.mcp.access import RemoteAccess
from tether.mcp.pool import ConversationPool
from tether.mcp.service import TeamService
from tether.mcp.tools import build_server

log = logging.getLogger("tether.mcp")


async def serve_stdio(
    hub_url: str,
    token: TokenProvider,
    *,
    idle_timeout: float | None = 1800.0,
    sweep_interval: float = 30.0,
    verify: Any = True,
    insecure: bool = False,
) -> None:
    """Serve MCP on this process's stdin/stdout until the client closes stdin."""
    async with HubClient(hub_url, token, verify=verify, insecure=insecure) as hub:
        try:
            await hub.teams()
        except AuthError:
            raise
        except HubUnreachable as exc:
            # The hub may come up later; every tool call says so until then.
            log.warning("%s", exc)
        service = TeamService(RemoteAccess(hub), ConversationPool(idle_timeout))
        server = build_server(service)
        log.info("tether mcp: serving on stdio for hub %s", hub_url)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(service.sweep_idle, sweep_interval)
            await server.run_stdio_async()
            tasks.cancel_scope.cancel()
