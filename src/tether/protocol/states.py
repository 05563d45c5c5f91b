"""Session states and how events move a session between them — all in one place, as data.

    starting → idle ⇄ busy ⇄ waiting_permission → exited      (lost: runner away)
    exited → starting                                          (resumed: a `status` starting)

A state is never stored on its own authority: it is derived by replaying events
through `SessionTracker`, so the hub, a viewer and a test all agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class SessionState(StrEnum):
    """Where a session is in its life."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    WAITING_PERMISSION = "waiting_permission"
    EXITED = "exited"
    LOST = "lost"


# kind of event → state it moves a live session to (None: no change).
TRANSITIONS: dict[str, SessionState | None] = {
    "user_message": SessionState.BUSY,
    "agent_message": None,
    "tool_call": None,
    "tool_result": None,
    "output": None,
    "error": None,
    "permission_request": SessionState.WAITING_PERMISSION,
    "permission_decision": SessionState.BUSY,
    "turn_finished": SessionState.IDLE,
    "exited": SessionState.EXITED,
    "terminal_output": None,
    "terminal_resize": None,
    "terminal_snapshot": None,
}


_STATES = frozenset(s.value for s in SessionState)

# How the runner's `exited` reason starts when it stopped an idle session on purpose
# (tether.runner.pool): such a session is asleep, not over.
SLEEP_REASONS = ("asleep:", "evicted:")


class Spent:
    """What a session's turns have used: summed `turn_finished` usage and cost. `cost`
    stays None until some turn reports one (an agent that never says is not free)."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = None

    def add(self, payload: Mapping[str, Any]) -> None:
        """Count one `turn_finished` (what it lacks counts as nothing)."""
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self.input_tokens += _count(usage.get("input_tokens"))
            self.output_tokens += _count(usage.get("output_tokens"))
        cost = payload.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
            self.cost = round((self.cost or 0.0) + float(cost), 6)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class SessionTracker:
    """Folds a session's events into its state, its pending permission requests and facts
    worth showing (the agent's own session id, exit code, last seq)."""

    def __init__(self) -> None:
        self.state = SessionState.STARTING
        self.pending: dict[str, dict[str, Any]] = {}
        self.last_seq = 0
        self.exit_code: int | None = None
        self.exit_reason: str | None = None
        self.agent_session_id: str | None = None
        self.turns = 0
        self.spent = Spent()
        """Tokens and cost of every turn so far (all agent processes of the session)."""
        self.terminal: dict[str, Any] | None = None
        """Terminal sessions: size, the seq of the latest snapshot, whether a console is on."""

    def apply(self, seq: int, payload: dict[str, Any]) -> SessionState:
        """Apply one event (in seq order) and return the new state."""
        self.last_seq = max(self.last_seq, seq)
        kind = payload.get("kind")
        if kind == "status":
            self._apply_status(payload)
        elif kind == "permission_request":
            self.pending[str(payload.get("request_id"))] = {"seq": seq, **payload}
        elif kind == "permission_decision":
            self.pending.pop(str(payload.get("request_id")), None)
        elif kind == "turn_finished":
            self.turns += 1
            self.spent.add(payload)
            # A turn that ends withdraws whatever it was still asking.
            self.pending.clear()
        elif kind in ("terminal_snapshot", "terminal_resize"):
            self._apply_terminal(seq, payload)
        elif kind == "exited":
            self.pending.clear()
            code = payload.get("code")
            self.exit_code = code if isinstance(code, int) else None
            reason = payload.get("reason")
            self.exit_reason = reason if isinstance(reason, str) else None
        if self.state is SessionState.EXITED and kind not in ("status", "user_message"):
            return self.state
        target = TRANSITIONS.get(str(kind))
        if kind == "permission_decision" and self.pending:
            target = SessionState.WAITING_PERMISSION
        if target is not None:
            self.state = target
        return self.state

    @property
    def asleep(self) -> bool:
        """Exited in a way a new message should undo: put to sleep by `idle_timeout`,
        evicted by `max_processes`, or ended cleanly (code 0). A crash or a failed start
        is not woken by a message: resuming it would most likely fail the same way."""
        if self.state is not SessionState.EXITED:
            return False
        reason = self.exit_reason or ""
        return self.exit_code == 0 or reason.startswith(SLEEP_REASONS)

    def _apply_terminal(self, seq: int, payload: dict[str, Any]) -> None:
        terminal = dict(self.terminal or {"snapshot_seq": 0, "console": False})
        for name in ("cols", "rows"):
            if isinstance(payload.get(name), int):
                terminal[name] = payload[name]
        if payload.get("kind") == "terminal_snapshot":
            terminal["snapshot_seq"] = seq
        if isinstance(payload.get("console"), bool):
            terminal["console"] = payload["console"]
        self.terminal = terminal

    def _apply_status(self, payload: dict[str, Any]) -> None:
        if self.state is SessionState.EXITED and payload.get("state") == SessionState.STARTING:
            # The session is being resumed: a new agent process continues the same log.
            self.exit_code = None
            self.exit_reason = None
        if payload.get("agent_session_id"):
            self.agent_session_id = str(payload["agent_session_id"])
        state = payload.get("state")
        if isinstance(state, str) and state in _STATES and state != SessionState.LOST:
            self.state = SessionState(state)
