"""Waiting on a session for MCP callers: a turn's reply, an exit, a state.

Each waits through the access's `watch` (woken at once inside the hub, polling from
`tether mcp`), reading the stored log, never the live sockets.
"""

from __future__ import annotations

import time

from tether.errors import TetherError
from tether.mcp import render
from tether.mcp.access import Caller, HubAccess
from tether.mcp.pool import Conversation
from tether.mcp.render import ToolAnswer, TurnFacts
from tether.mcp.turns import TurnReader
from tether.protocol.states import SessionState

PAGE = 1000
"""Events read from the log at a time."""


async def await_reply(
    access: HubAccess,
    caller: Caller,
    conversation: Conversation,
    base: TurnFacts,
    timeout: float | None,
) -> ToolAnswer:
    """The reply to the turn `base` describes: read its events as they come until it ends
    (`TurnFailed` unless it succeeded), asks permission, or `timeout` seconds pass."""
    session_id, to_team, after = conversation.session_id, conversation.to_team, base["after_seq"]
    deadline = None if timeout is None else time.monotonic() + timeout
    reader = TurnReader(last_seq=after)
    async with access.watch(session_id) as watch:
        while True:
            page = await caller.hub.events(session_id, after=reader.last_seq, limit=PAGE)
            outcome = reader.feed(page["events"])
            if outcome is not None:
                data: render.TurnEnd = {
                    **base,
                    "status": outcome.status,
                    "reply": outcome.reply,
                    "last_seq": outcome.last_seq,
                }
                if outcome.status != "success":
                    raise TurnFailed(to_team, outcome.status, outcome.reply, data)
                return render.reply_answer(to_team, base, outcome.reply, outcome.last_seq)
            if len(page["events"]) >= PAGE:
                continue  # more stored events to read before waiting
            left = None if deadline is None else deadline - time.monotonic()
            if reader.pending or (left is not None and left <= 0):
                conversation.open_turn_after = after  # still running: busy until it ends
                if reader.pending:  # a decision only the session's owner can give
                    pending = list(reader.pending.values())
                    return render.waiting_permission_answer(to_team, base, pending, reader.last_seq)
                assert timeout is not None
                return render.timeout_answer(to_team, base, timeout, reader.last_seq)
            await watch.wait(30.0 if left is None else left)


async def wait_exited(access: HubAccess, caller: Caller, session_id: str, timeout: float) -> None:
    """Until the session has exited, or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    async with access.watch(session_id) as watch:
        while (await caller.hub.session(session_id))["state"] != SessionState.EXITED:
            left = deadline - time.monotonic()
            if left <= 0:
                return  # resume will say why it cannot
            await watch.wait(left)


async def wait_state(
    access: HubAccess, caller: Caller, session_id: str, timeout: float, *, resuming: bool = False
) -> str:
    """The session's state once it is no longer starting (or after `timeout` seconds)."""
    # A resumed session still shows `exited` until its runner reports it starting.
    waiting = {SessionState.STARTING, SessionState.EXITED} if resuming else {SessionState.STARTING}
    deadline = time.monotonic() + timeout
    async with access.watch(session_id) as watch:
        while True:
            state = str((await caller.hub.session(session_id))["state"])
            left = deadline - time.monotonic()
            if state not in waiting or left <= 0:
                return state
            await watch.wait(left)


class TurnFailed(TetherError):
    """The team's agent ended the turn with an error, an interrupt, or by exiting."""

    code = "turn_failed"

    def __init__(self, to_team: str, status: str, reply: str, data: render.TurnEnd) -> None:
        super().__init__(
            f"team {to_team!r} ended the turn with status {status!r}: {reply or '(no text)'}",
            hint="read the session with session_report for details",
        )
        self.data = data
