"""Reading a session's event log for MCP callers: a turn's reply, and a transcript.

Pure functions over event payloads (`{"kind": …}` dicts, DESIGN §3): no I/O, so
the rules "what is the reply of a turn" and "how does a transcript read" are
tested with plain data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

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
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcome: TurnOutcome | None = None
    last_seq: int = 0

    def feed(self, events: Iterable[dict[str, Any]]) -> TurnOutcome | None:
        """Apply stored events (`{"seq", "payload"}`) in order; return the outcome once known."""
        for event in events:
            if self.outcome is not None:
                break
            self.last_seq = max(self.last_seq, int(event["seq"]))
            self._apply(int(event["seq"]), event["payload"])
        return self.outcome

    def _apply(self, seq: int, payload: dict[str, Any]) -> None:
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
            self.pending[str(payload.get("request_id"))] = {"seq": seq, **payload}
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


def transcript_line(seq: int, payload: dict[str, Any]) -> str:
    """One event as a line a person (or a model) reads easily."""
    kind = str(payload.get("kind", "?"))
    head = f"[{seq}]"
    if kind == "user_message":
        by = f" (from {payload['by']})" if payload.get("by") else ""
        return f"{head} user{by}: {clip(str(payload.get('text', '')))}"
    if kind == "agent_message":
        return f"{head} agent: {clip(str(payload.get('text', '')))}"
    if kind == "tool_call":
        return f"{head} tool call {payload.get('tool')}: {_compact(payload.get('input', {}))}"
    if kind == "tool_result":
        flag = " (error)" if payload.get("is_error") else ""
        return f"{head} tool result{flag}: {clip(str(payload.get('output', '')), 500)}"
    if kind == "permission_request":
        return (
            f"{head} permission request {payload.get('request_id')}: {payload.get('tool')} "
            f"{_compact(payload.get('input', {}))}"
        )
    if kind == "permission_decision":
        by = f" by {payload['by']}" if payload.get("by") else ""
        return f"{head} permission {payload.get('request_id')}: {payload.get('behavior')}{by}"
    if kind == "turn_finished":
        result = payload.get("result")
        tail = f" — {clip(str(result), 500)}" if result else ""
        return f"{head} turn finished: {payload.get('status')}{tail}"
    if kind == "status":
        return f"{head} status: {payload.get('state')}"
    if kind == "output":
        return f"{head} {payload.get('stream', 'stdout')}: {clip(str(payload.get('text', '')))}"
    if kind == "exited":
        return f"{head} exited (code {payload.get('code')})"
    if kind == "error":
        return f"{head} error: {clip(str(payload.get('message', '')))}"
    return f"{head} {kind}"


def transcript(events: Iterable[dict[str, Any]]) -> str:
    """Stored events (`{"seq", "payload"}`) as transcript lines (a terminal session's
    screen bytes as the screen they draw)."""
    stored = list(events)
    if any(str(e["payload"].get("kind", "")).startswith("terminal_") for e in stored):
        from tether.terminal.report import terminal_transcript

        return terminal_transcript(stored, transcript_line)
    return "\n".join(transcript_line(int(e["seq"]), e["payload"]) for e in stored)
