"""A scripted runner: speaks the runner protocol and plays a fixed Claude-like session.

The demo agent only ever calls Bash; this one shows every event kind the transcript
renders (Markdown, a Read, an Edit with a diff, command output, a permission request),
for the diff test and the screenshots (scripts/screenshots.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tether.protocol.codec import decode, encode, make

TEAM = {
    "name": "showcase",
    "agent": "claude",
    "description": "A scripted session",
    "path": "/srv/app",
    "host": "build-box",
}

OLD = (
    "def next_delay(self):\n    delay = self.base * 2 ** self.attempt\n"
    "    self.attempt += 1\n    return delay\n"
)
NEW = (
    "def next_delay(self):\n    delay = min(self.max_delay, self.base * 2 ** self.attempt)\n"
    "    self.attempt += 1\n    return delay\n\ndef reset(self):\n    self.attempt = 0\n"
)
OPENING: list[dict[str, Any]] = [
    {
        "kind": "status",
        "state": "idle",
        "agent": "claude",
        "model": "claude-sonnet-4-5",
        "permission_mode": "default",
    },
    {
        "kind": "user_message",
        "text": "The retry test is flaky. Fix it and tell me what changed.",
        "by": "alice",
    },
    {
        "kind": "agent_message",
        "text": (
            "I'll look at **retry.py** first. The test fails because:\n\n"
            "- the backoff is never reset after a success\n- `max_delay` is ignored\n\n"
            "See [asyncio docs](https://docs.python.org/3/library/asyncio.html)."
        ),
    },
    {
        "kind": "tool_call",
        "tool_use_id": "t1",
        "tool": "Read",
        "input": {"file_path": "src/app/retry.py"},
    },
    {"kind": "tool_result", "tool_use_id": "t1", "output": OLD},
    {
        "kind": "tool_call",
        "tool_use_id": "t2",
        "tool": "Edit",
        "input": {"file_path": "src/app/retry.py", "old_string": OLD, "new_string": NEW},
    },
    {
        "kind": "tool_result",
        "tool_use_id": "t2",
        "output": "The file src/app/retry.py has been updated.",
    },
    {
        "kind": "tool_call",
        "tool_use_id": "t3",
        "tool": "Bash",
        "input": {"command": "pytest tests/test_retry.py -q"},
    },
    {"kind": "tool_result", "tool_use_id": "t3", "output": "....\n4 passed in 0.12s"},
    {
        "kind": "agent_message",
        "text": (
            "Fixed. `next_delay` now caps at `max_delay`, and callers use:\n\n"
            "```python\nbackoff.reset()\n```\n\nAll **4 tests** pass."
        ),
    },
    {"kind": "turn_finished", "status": "success", "result": "fixed", "cost": 0.0123},
    {"kind": "user_message", "text": "Great. Now clean the build directory.", "by": "alice"},
    {
        "kind": "permission_request",
        "request_id": "perm_1",
        "tool": "Bash",
        "input": {"command": "rm -rf build/", "description": "Remove the build directory"},
        "suggestions": [],
    },
]


class ScriptedRunner:
    """Connects to a hub as runner `scripted` and plays OPENING for every session it starts."""

    def __init__(self, hub_url: str, token: str) -> None:
        self.url = hub_url.replace("http://", "ws://") + "/v1/runner"
        self.token = token
        self.seqs: dict[str, itertools.count[int]] = {}
        self.connected = asyncio.Event()

    async def emit(self, ws: ClientConnection, session: str, payload: dict[str, Any]) -> None:
        seq = next(self.seqs[session])
        await ws.send(encode(make("event", payload, session=session, seq=seq)))

    async def run(self) -> None:
        """Serve until cancelled."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(self.url, additional_headers=headers) as ws:
            hello = {"runner_id": "scripted", "version": "0", "teams": [TEAM], "sessions": {}}
            await ws.send(encode(make("hello", hello)))
            async for text in ws:
                env = decode(text)
                if env.type == "welcome":
                    self.connected.set()
                elif env.type == "ping":
                    await ws.send(encode(make("pong")))
                elif env.type == "control" and env.session:
                    await self.control(ws, env.session, env.payload)

    async def control(self, ws: ClientConnection, session: str, control: dict[str, Any]) -> None:
        action = control.get("action")
        if action == "start":
            self.seqs[session] = itertools.count(1)
            for payload in OPENING:
                await self.emit(ws, session, payload)
        elif action == "permission_decision":
            rid, behavior = control["request_id"], control["behavior"]
            await self.emit(
                ws,
                session,
                {
                    "kind": "permission_decision",
                    "request_id": rid,
                    "behavior": behavior,
                    "by": control.get("by"),
                },
            )
            if behavior == "allow":
                await self.emit(
                    ws,
                    session,
                    {
                        "kind": "tool_call",
                        "tool_use_id": "t4",
                        "tool": "Bash",
                        "input": {"command": "rm -rf build/"},
                    },
                )
                await self.emit(
                    ws, session, {"kind": "tool_result", "tool_use_id": "t4", "output": ""}
                )
            await self.emit(
                ws,
                session,
                {
                    "kind": "agent_message",
                    "text": "Done." if behavior == "allow" else "OK, left it alone.",
                },
            )
            await self.emit(ws, session, {"kind": "turn_finished", "status": "success"})
        elif action == "user_message":
            await self.emit(
                ws,
                session,
                {"kind": "user_message", "text": control["text"], "by": control.get("by")},
            )
            await self.emit(
                ws, session, {"kind": "agent_message", "text": f"(scripted) {control['text']}"}
            )
            await self.emit(ws, session, {"kind": "turn_finished", "status": "success"})


@contextlib.asynccontextmanager
async def scripted_runner(hub_url: str, token: str) -> AsyncIterator[ScriptedRunner]:
    """Run a ScriptedRunner against a hub until the block ends."""
    runner = ScriptedRunner(hub_url, token)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.connected.wait(), 30)
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
