"""Where Claude Code's hook reaches a terminal's `HookBridge`: one request per connection.

The PTY host serves hooks on its control socket; a `terminal` team's adapter (which has
no host) opens a `HookSocket` of its own for its session, in the same private places and
with the same peer check.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from tether.tasks import keep_task
from tether.terminal.claude_hooks import hook_event
from tether.terminal.hook_bridge import HookBridge
from tether.terminal.local_socket import (
    JSON,
    is_same_user,
    json_frame,
    parse_json,
    read_frame,
    socket_path,
)


async def serve_hook(
    message: dict[str, Any],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    bridge: HookBridge | None,
) -> None:
    """Answer one hook request: the decision a viewer gave, or none (the terminal's)."""
    event = hook_event(message.get("event"))
    if bridge is None or event is None:
        writer.write(json_frame({"op": "decision", "output": None}))
        return
    if event.get("hook_event_name") != "PermissionRequest":
        bridge.observe(event)  # what happened in the terminal: nothing to answer
        writer.write(json_frame({"op": "decision", "output": None}))
        return
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    tasks: set[asyncio.Task[Any]] = set()

    async def watch() -> None:
        await reader.read()  # EOF: Claude Code killed the hook (answered in the terminal)
        if not gone.done():
            gone.set_result(None)

    watcher = keep_task(tasks, watch())
    try:
        output = await bridge.ask(event, gone)
    finally:
        watcher.cancel()
    writer.write(json_frame({"op": "decision", "output": output}))


class HookSocket:
    """A private socket serving the hook requests of one session."""

    def __init__(self, data_dir: Path, session_id: str, bridge: HookBridge) -> None:
        self.path = socket_path(data_dir, f"hooks:{session_id}")
        self.session_id = session_id
        self.bridge = bridge
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._client, path=str(self.path))
        self.path.chmod(0o600)

    async def close(self) -> None:
        """Stop listening and remove the socket."""
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not is_same_user(writer):
                return
            first = await read_frame(reader)
            if first is None or first[0] != JSON:
                return
            message = parse_json(first[1])
            mine = message.get("op") == "hook" and message.get("session") == self.session_id
            await serve_hook(message, reader, writer, self.bridge if mine else None)
            await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()
