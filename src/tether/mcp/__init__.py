"""tether's MCP server: agents message other teams' agents (the Iris model).

Tools (tools.py) run the team-messaging logic (service.py: conversations held one turn
at a time through pool.py, replies awaited in waiting.py, answers worded in render.py)
over the hub's API (access.py), on three transports: stdio (`tether mcp`, stdio.py), streamable
HTTP at `/mcp` and WebSocket at `/mcp/ws` on the hub (hub.py, websocket.py).
`websocket_client` (ws_client.py) is the matching client transport for the
official `mcp` ClientSession. See docs/mcp.md.
"""

from tether.mcp.ws_client import websocket_client

__all__ = ["websocket_client"]
