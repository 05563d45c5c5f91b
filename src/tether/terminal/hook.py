"""Claude Code's hooks for a terminal session: `python -m tether.terminal.hook`.

For `PermissionRequest` Claude Code runs it with the request as JSON on stdin while it
shows its own dialog; it asks the PTY host (found through `TETHER_TERMINAL_SOCKET` and
`TETHER_TERMINAL_SESSION`, set for the program by the host) and waits; a remote
Allow/Deny is printed as the hook's decision. For the other events (`PostToolUse`,
`Stop` …, run in the background) it only tells the host, which learns that the terminal
answered. Anything that goes wrong ends it quietly with no decision — then the dialog in
the terminal simply stays the way to answer. See `hook_bridge` for the whole exchange.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import cast

from tether.terminal.claude_hooks import (
    SESSION_ENV,
    SOCKET_ENV,
    HookEvent,
    HookOutput,
    hook_event,
)
from tether.terminal.local_socket import JSON, json_frame, parse_json, read_frame


async def ask_host(socket: str, session: str, event: HookEvent) -> HookOutput | None:
    """Send the request to the host; the hook output it answers with, or None."""
    reader, writer = await asyncio.open_unix_connection(socket)
    try:
        writer.write(json_frame({"op": "hook", "session": session, "event": event}))
        await writer.drain()
        while True:
            got = await read_frame(reader)
            if got is None:
                return None
            kind, payload = got
            if kind == JSON:
                message = parse_json(payload)
                if message.get("op") == "decision":
                    output = message.get("output")  # the host's `hook_output`, relayed
                    return cast(HookOutput, output) if isinstance(output, dict) else None
    finally:
        writer.close()


def main() -> int:
    """Run as Claude Code's hook; always exits 0 (no decision unless a viewer gave one)."""
    socket, session = os.environ.get(SOCKET_ENV), os.environ.get(SESSION_ENV)
    try:
        event = hook_event(json.loads(sys.stdin.read() or "{}"))
        if not socket or not session or event is None:
            return 0
        output = asyncio.run(ask_host(socket, session, event))
    except Exception:  # any failure at all: the terminal's own dialog decides
        return 0
    if output is not None:
        sys.stdout.write(json.dumps(output))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
