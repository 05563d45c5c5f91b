"""The normalized event kinds (docs/protocol.md). Every adapter maps its agent's output into these.

An event payload is `{"kind": …, <fields>, "raw": <the agent's original message>?}`.
Receivers keep events of kinds they do not know (newer peers) and show them as-is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tether.errors import ProtocolError

MAX_TERMINAL_COLS = 1000
MAX_TERMINAL_ROWS = 500


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    raw: Any = None


class Status(_EventBase):
    """The session's state changed, or the agent reported who it is (model, its own session id)."""

    kind: Literal["status"] = "status"
    state: Literal["starting", "idle", "busy", "waiting_permission", "exited", "lost"]
    detail: str | None = None
    agent: str | None = None
    agent_session_id: str | None = None
    model: str | None = None
    permission_mode: str | None = None


class UserMessage(_EventBase):
    """A turn handed to the agent."""

    kind: Literal["user_message"] = "user_message"
    text: str
    by: str | None = None


class AgentMessage(_EventBase):
    """Text the agent said (a whole message, or a streamed chunk of one)."""

    kind: Literal["agent_message"] = "agent_message"
    text: str
    partial: bool | None = None
    """True for the text of a message the agent never finished (its turn was interrupted)."""


class ToolCall(_EventBase):
    """The agent called a tool."""

    kind: Literal["tool_call"] = "tool_call"
    tool_use_id: str
    tool: str
    input: dict[str, Any] = {}
    title: str | None = None
    """The agent's one-line summary of the call (ACP agents give one)."""


class ToolResult(_EventBase):
    """What a tool call returned."""

    kind: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    output: str = ""
    is_error: bool = False


class PermissionRequest(_EventBase):
    """The agent asks before using a tool; the session's owner answers."""

    kind: Literal["permission_request"] = "permission_request"
    request_id: str
    tool: str
    input: dict[str, Any] = {}
    suggestions: list[Any] = []
    options: list[dict[str, Any]] = []
    tool_use_id: str | None = None
    """The `tool_call` this request is about, when the agent says."""
    title: str | None = None
    description: str | None = None
    decision_reason: str | None = None
    blocked_path: str | None = None


class PermissionDecision(_EventBase):
    """The answer to a permission request (`cancelled` when the agent withdrew it)."""

    kind: Literal["permission_decision"] = "permission_decision"
    request_id: str
    behavior: Literal["allow", "deny", "cancelled"]
    by: str | None = None
    message: str | None = None
    updated_input: dict[str, Any] | None = None
    option_id: str | None = None


class TurnFinished(_EventBase):
    """The agent finished a turn."""

    kind: Literal["turn_finished"] = "turn_finished"
    status: Literal["success", "error", "interrupted"]
    result: str | None = None
    usage: dict[str, Any] | None = None
    """Tokens of this turn: input_tokens, output_tokens, and where the agent reports them
    cache_read_tokens, cache_write_tokens, reasoning_tokens (docs/agents.md)."""
    cost: float | None = None
    """What this turn cost in US dollars, where the agent reports it."""
    stop_reason: str | None = None
    """The agent's own word for why the turn ended (ACP's stopReason)."""
    stderr: str | None = None
    """The end of what the agent wrote on stderr, when a turn failed without a result."""


class Output(_EventBase):
    """A line a raw command wrote."""

    kind: Literal["output"] = "output"
    stream: Literal["stdout", "stderr"]
    text: str


class Exited(_EventBase):
    """The agent process ended; the session is over unless it is resumed."""

    kind: Literal["exited"] = "exited"
    code: int | None = None
    signal: int | None = None
    reason: str | None = None


class TerminalOutput(_EventBase):
    """Bytes a terminal session's program wrote to its screen (filtered for mirrors).

    Exactly one of `text` (the bytes were valid UTF-8) or `data` (base64 of bytes that
    were not) is set; `terminal.chunks.chunk_bytes` turns either back into bytes."""

    kind: Literal["terminal_output"] = "terminal_output"
    text: str | None = None
    data: str | None = None


class TerminalResize(_EventBase):
    """A terminal session's screen size changed (or its local console came or went)."""

    kind: Literal["terminal_resize"] = "terminal_resize"
    cols: int = Field(ge=1, le=MAX_TERMINAL_COLS)
    rows: int = Field(ge=1, le=MAX_TERMINAL_ROWS)
    by: str | None = None
    console: bool | None = None


class TerminalSnapshot(_EventBase):
    """The whole screen of a terminal session as it is now: `ansi` repaints it on a blank
    terminal of `cols` × `rows`, `lines` is its plain text (transcripts, MCP reports).
    Output events with a smaller seq are already in it."""

    kind: Literal["terminal_snapshot"] = "terminal_snapshot"
    cols: int = Field(ge=1, le=MAX_TERMINAL_COLS)
    rows: int = Field(ge=1, le=MAX_TERMINAL_ROWS)
    ansi: str = ""
    lines: list[str] = []
    cursor: dict[str, Any] = {}
    title: str | None = None


class ErrorEvent(_EventBase):
    """Something went wrong that the user should see (the session may carry on)."""

    kind: Literal["error"] = "error"
    message: str
    code: str | None = None


Event = Annotated[
    Status
    | UserMessage
    | AgentMessage
    | ToolCall
    | ToolResult
    | PermissionRequest
    | PermissionDecision
    | TurnFinished
    | Output
    | Exited
    | ErrorEvent
    | TerminalOutput
    | TerminalResize
    | TerminalSnapshot,
    Field(discriminator="kind"),
]

EVENT_MODELS: tuple[type[_EventBase], ...] = (
    Status,
    UserMessage,
    AgentMessage,
    ToolCall,
    ToolResult,
    PermissionRequest,
    PermissionDecision,
    TurnFinished,
    Output,
    Exited,
    ErrorEvent,
    TerminalOutput,
    TerminalResize,
    TerminalSnapshot,
)
EVENT_KINDS: frozenset[str] = frozenset(
    str(model.model_fields["kind"].default) for model in EVENT_MODELS
)

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(payload: dict[str, Any]) -> Event:
    """Validate an event payload of a known kind, or raise `ProtocolError`."""
    try:
        return _event_adapter.validate_python(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise ProtocolError(f"bad event payload at {where or '(root)'}: {err['msg']}") from None


def event_payload(event: _EventBase) -> dict[str, Any]:
    """An event model as a wire payload: `kind` first, unset fields left out, and the
    agent's original message (`raw`, the bulk) last."""
    payload = event.model_dump(mode="json", exclude_none=True)
    raw = payload.pop("raw", None)
    if isinstance(event, Exited):
        payload.setdefault("code", None)  # "no exit code" (a signal, never ran) is a fact
    payload = {"kind": payload.pop("kind"), **payload}
    if raw is not None:
        payload["raw"] = raw
    return payload
