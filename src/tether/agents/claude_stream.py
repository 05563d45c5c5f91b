"""Claude Code's stream-json output as normalized events: the mapping alone, no I/O.

`ClaudeStream.feed(message)` takes one message the CLI printed on stdout and returns the
events it means. The adapter tells the stream what it wrote to the CLI (a turn, an
interrupt, a permission answer), because what a message means depends on it: a
`result` ends one of our turns, or (with no turn written) reports a start failure.
Wire facts: docs/claude.md.

The control channel itself (our `control_request`s and the CLI's `control_response`s,
refusing requests tether does not serve) is the adapter's, since it is I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tether.agents.base import WireObject
from tether.agents.usage import claude_turn_cost, claude_usage
from tether.protocol.events import (
    AgentMessage,
    ErrorEvent,
    Event,
    PermissionDecision,
    PermissionRequest,
    Status,
    ToolCall,
    ToolResult,
    TurnFinished,
)

TurnState = Literal["idle", "busy", "waiting_permission"]
TurnStatus = Literal["success", "error", "interrupted"]


@dataclass
class ClaudeStream:
    """The state the mapping needs: turns in flight, open permission requests, the mode."""

    agent_name: str
    agent_session_id: str
    permission_mode: str | None = None
    started: bool = False
    """The session is ready: from now on an error outside a turn is an `error` event."""
    turns: int = 0
    """Turns written and not yet finished (the CLI queues them)."""
    interrupting: bool = False
    permissions: dict[str, WireObject] = field(default_factory=dict)
    """Open `can_use_tool` requests: request id → the tool input the agent proposed."""
    early_errors: list[str] = field(default_factory=list)
    """Errors reported before the session was ready (why a start failed)."""
    _init_seen: bool = False
    _cost_total: float = 0.0

    # -- what the CLI printed ----------------------------------------------------------------

    def feed(self, message: WireObject) -> list[Event]:
        """The events one stdout message means (none for messages a viewer does not need)."""
        kind = message.get("type")
        if kind == "system":
            kind = f"system/{message.get('subtype')}"
        handler = _HANDLERS.get(str(kind))
        return handler(self, message) if handler is not None else []

    def _on_init(self, msg: WireObject) -> list[Event]:
        # Sent at the start of every turn; the first one is kept whole, later ones only
        # restate the state (a queued turn starts right after the previous result).
        self.agent_session_id = _text(msg.get("session_id")) or self.agent_session_id
        if isinstance(msg.get("permissionMode"), str):
            self.permission_mode = msg["permissionMode"]
        raw = None if self._init_seen else msg
        self._init_seen = True
        status = Status(
            state="busy",
            agent=self.agent_name,
            agent_session_id=self.agent_session_id,
            model=_text(msg.get("model")),
            permission_mode=self.permission_mode,
            raw=raw,
        )
        return [status]

    def _on_status(self, msg: WireObject) -> list[Event]:
        mode = msg.get("permissionMode")
        return self.mode_changed(mode, msg) if isinstance(mode, str) else []

    def _on_permission_request(self, msg: WireObject) -> list[Event]:
        request = _mapping(msg.get("request"))
        if request.get("subtype") != "can_use_tool":
            return []  # the adapter answers what tether does not serve
        request_id = str(msg.get("request_id"))
        tool_input = _mapping(request.get("input"))
        self.permissions[request_id] = tool_input
        event = PermissionRequest(
            request_id=request_id,
            tool=str(request.get("tool_name", "?")),
            input=tool_input,
            suggestions=list(request.get("permission_suggestions") or []),
            tool_use_id=_text(request.get("tool_use_id")),
            description=_text(request.get("description")),
            decision_reason=_text(request.get("decision_reason")),
            blocked_path=_text(request.get("blocked_path")),
            raw=msg,
        )
        return [event]

    def _on_cancel(self, msg: WireObject) -> list[Event]:
        request_id = str(msg.get("request_id"))
        if self.permissions.pop(request_id, None) is None:
            return []
        cancelled = PermissionDecision(
            request_id=request_id, behavior="cancelled", by=self.agent_name, raw=msg
        )
        return [cancelled]

    def _on_assistant(self, msg: WireObject) -> list[Event]:
        events: list[Event] = []
        for block in _blocks(_mapping(msg.get("message")).get("content")):
            if block.get("type") == "text" and block.get("text"):
                events.append(AgentMessage(text=str(block["text"]), raw=msg))
            elif block.get("type") == "tool_use":
                call = ToolCall(
                    tool_use_id=str(block.get("id")),
                    tool=str(block.get("name") or "?"),
                    input=_mapping(block.get("input")),
                    raw=msg,
                )
                events.append(call)
        return events

    def _on_tool_results(self, msg: WireObject) -> list[Event]:
        # Also carries `[Request interrupted by user]` markers and replayed slash-command
        # output; only tool results are events.
        events: list[Event] = []
        for block in _blocks(_mapping(msg.get("message")).get("content")):
            if block.get("type") == "tool_result":
                result = ToolResult(
                    tool_use_id=str(block.get("tool_use_id")),
                    output=tool_result_text(block.get("content")),
                    is_error=bool(block.get("is_error")),
                    raw=msg,
                )
                events.append(result)
        return events

    def _on_result(self, msg: WireObject) -> list[Event]:
        errors = [str(e) for e in msg.get("errors") or [] if not str(e).startswith("[ede_")]
        if self.turns == 0:
            # Not the end of a turn of ours: e.g. `--resume` of an unknown id answers
            # with one error result and exits before `initialize` is answered.
            self.early_errors.extend(errors)
            if errors and self.started:
                return [ErrorEvent(code="agent", message="; ".join(errors))]
            return []
        self.turns -= 1
        status = self._turn_status(msg)
        self.interrupting = False
        self.permissions.clear()
        result = msg.get("result")
        if not isinstance(result, str):
            result = "; ".join(errors) if errors and status == "error" else None
        usage = claude_usage(msg.get("usage"))
        finished = TurnFinished(
            status=status,
            result=result,
            usage=usage.as_payload() if usage is not None else None,
            cost=self._turn_cost(msg),
            raw=msg,
        )
        return [finished]

    def _turn_status(self, msg: WireObject) -> TurnStatus:
        # `is_error` is what to trust: an API error is `subtype: success, is_error: true`.
        failed = bool(msg.get("is_error"))
        aborted = str(msg.get("terminal_reason", "")).startswith("aborted")
        if self.interrupting and (failed or aborted):
            return "interrupted"
        return "error" if failed else "success"

    def _turn_cost(self, msg: WireObject) -> float | None:
        cost = claude_turn_cost(msg, self._cost_total)
        total = msg.get("total_cost_usd")
        if isinstance(total, int | float):
            self._cost_total = float(total)
        return cost

    # -- what the adapter did ------------------------------------------------------------------

    def state(self) -> TurnState:
        """The session's state as far as the stream knows."""
        if self.permissions:
            return "waiting_permission"
        return "busy" if self.turns else "idle"

    def ready_status(self, init: WireObject) -> Status:
        """The `idle` status once `initialize` was answered with `init`."""
        if isinstance(init.get("current_permission_mode"), str):
            self.permission_mode = init["current_permission_mode"]
        version = init.get("claude_code_version")
        return Status(
            state="idle",
            agent=self.agent_name,
            agent_session_id=self.agent_session_id,
            permission_mode=self.permission_mode,
            detail=f"{self.agent_name} {version}" if isinstance(version, str) else None,
        )

    def mode_changed(self, mode: str, raw: WireObject | None = None) -> list[Event]:
        """A `status` event if the permission mode is now `mode` and was not before."""
        if mode == self.permission_mode:
            return []
        self.permission_mode = mode
        return [Status(state=self.state(), permission_mode=mode, raw=raw)]

    def take_permission(self, request_id: str) -> WireObject | None:
        """The proposed input of an open request, which is now answered (None: not open)."""
        return self.permissions.pop(request_id, None)


_HANDLERS: dict[str, Callable[[ClaudeStream, WireObject], list[Event]]] = {
    "system/init": ClaudeStream._on_init,
    "system/status": ClaudeStream._on_status,
    "control_request": ClaudeStream._on_permission_request,
    "control_cancel_request": ClaudeStream._on_cancel,
    "assistant": ClaudeStream._on_assistant,
    "user": ClaudeStream._on_tool_results,
    "result": ClaudeStream._on_result,
}


def tool_result_text(content: Any) -> str:
    """A `tool_result` block's content (a string, or text blocks) as text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else json.dumps(content)


def _mapping(value: Any) -> WireObject:
    return value if isinstance(value, dict) else {}


def _blocks(content: Any) -> list[WireObject]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
