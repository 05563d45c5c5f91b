"""Reading a session's event log for MCP callers: a turn's reply, and a transcript.

Pure functions over event payloads (`{"kind": …}` dicts, DESIGN §3): no I/O, so
the rules "what is the reply of a turn" and "how does a transcript read" are
tested with plain data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tether.mcp.render import PendingRequest, pending_request

if TYPE_CHECKING:
    from tether.protocol.api_shapes import StoredEvent

TurnStatus = Literal["success", "error", "interrupted", "exited"]

# Long tool inputs and outputs are cut in transcripts; the full event stays in the hub.
MAX_FIELD_CHARS = 2000


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended and what the agent answered."""

    status: TurnStatus
    reply: str
    last_seq: int


@dataclass
class TurnReader:
    """Folds the events after a turn was sent into its outcome.

    Events before the first `user_message` belong to whatever ran before (an
    earlier turn's late `turn_finished`), so they are skipped. Pending
    permission requests are tracked so a caller can be told what the agent is
    waiting for.
    """

    started: bool = False
    texts: list[str] = field(default_factory=list)
    pending: dict[str, PendingRequest] = field(default_factory=dict)
    outcome: TurnOutcome | None = None
    last_seq: int = 0

    def feed(self, events: Iterable[StoredEvent]) -> TurnOutcome | None:
        """Apply stored events (`{"seq", "payload"}`) in order; return the outcome once known."""
        for event in events:
            if self.outcome is not None:
                break
            self.last_seq = max(self.last_seq, int(event["seq"]))
            self._apply(int(event["seq"]), event["payload"])
        return self.outcome

    def _apply(self, seq: int, payload: Mapping[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "exited":
            # A process that dies ends the turn whether or not it had started.
            reason = payload.get("reason") or f"exit code {payload.get('code')}"
            text = "\n".join(self.texts) or f"the agent process ended ({reason})"
            self.outcome = TurnOutcome("exited", text, seq)
            return
        if kind == "user_message":
            self.started = True
            return
        if not self.started:
            return
        if kind == "agent_message":
            self.texts.append(str(payload.get("text", "")))
        elif kind == "permission_request":
            self.pending[str(payload.get("request_id"))] = pending_request(payload)
        elif kind == "permission_decision":
            self.pending.pop(str(payload.get("request_id")), None)
        elif kind == "turn_finished":
            status = payload.get("status")
            result = payload.get("result")
            # `result` is the agent's own summary of the turn (Claude: the final text);
            # adapters without one leave it out, and then the messages are the reply.
            reply = str(result) if result else "\n".join(self.texts)
            self.outcome = TurnOutcome(
                status if status in ("success", "error", "interrupted") else "error", reply, seq
            )
            self.pending.clear()


def clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`text`, cut to `limit` characters with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def _compact(value: Any) -> str:
    return clip(json.dumps(value, ensure_ascii=False, separators=(",", ":")), 500)


def _by(payload: Mapping[str, Any], shape: str = " by {}") -> str:
    return shape.format(payload["by"]) if payload.get("by") else ""


def _turn_end(payload: Mapping[str, Any]) -> str:
    cost = payload.get("cost")
    spent = f" (${cost:.4f})" if isinstance(cost, int | float) and cost > 0 else ""
    result = payload.get("result")
    tail = f" — {clip(str(result), 500)}" if result else ""
    return f"turn finished: {payload.get('status')}{spent}{tail}"


def _text(payload: Mapping[str, Any], name: str, limit: int = MAX_FIELD_CHARS) -> str:
    return clip(str(payload.get(name, "")), limit)


# How each kind of event reads in a transcript (after its `[seq]`).
_LINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "user_message": lambda p: f"user{_by(p, ' (from {})')}: {_text(p, 'text')}",
    "agent_message": lambda p: f"agent: {_text(p, 'text')}",
    "tool_call": lambda p: f"tool call {p.get('tool')}: {_compact(p.get('input', {}))}",
    "tool_result": lambda p: (
        f"tool result{' (error)' if p.get('is_error') else ''}: " + _text(p, "output", 500)
    ),
    "permission_request": lambda p: (
        f"permission request {p.get('request_id')}: {p.get('tool')} {_compact(p.get('input', {}))}"
    ),
    "permission_decision": lambda p: (
        f"permission {p.get('request_id')}: {p.get('behavior')}{_by(p, 'by')}"
    ),
    "turn_finished": _turn_end,
    "status": lambda p: f"status: {p.get('state')}",
    "output": lambda p: f"{p.get('stream', 'stdout')}: {_text(p, 'text')}",
    "exited": lambda p: f"exited (code {p.get('code')})",
    "error": lambda p: f"error: {_text(p, 'message')}",
}


def transcript_line(seq: int, payload: Mapping[str, Any]) -> str:
    """One event as a line a person (or a model) reads easily."""
    kind = str(payload.get("kind", "?"))
    line = _LINES.get(kind)
    return f"[{seq}] {line(payload) if line is not None else kind}"


def transcript(events: Iterable[StoredEvent]) -> str:
    """Stored events (`{"seq", "payload"}`) as transcript lines (a terminal session's
    screen bytes as the screen they draw)."""
    stored = list(events)
    if any(str(e["payload"].get("kind", "")).startswith("terminal_") for e in stored):
        from tether.terminal.report import terminal_transcript

        return terminal_transcript(stored, transcript_line)
    return "\n".join(transcript_line(int(e["seq"]), e["payload"]) for e in stored)
