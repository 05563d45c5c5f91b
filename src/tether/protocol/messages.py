"""Payloads of every v1 message type, by socket (docs/protocol.md).

Runner ↔ hub (`/v1/runner`): hello → welcome · event · ack · control · teams · ping/pong ·
error.
Viewer ↔ hub (`/v1/sessions/{id}/stream`): ready → role · resume · event ·
user_message · permission_decision · interrupt · set_permission_mode · terminal_input ·
terminal_resize · ack · error · ping/pong.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tether.protocol.events import MAX_TERMINAL_COLS, MAX_TERMINAL_ROWS, PermissionDecision

# The most a viewer may type into a terminal at once (a large paste), in characters.
MAX_TERMINAL_INPUT = 64 * 1024


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TeamInfo(_Payload):
    """What a runner says about one team it serves."""

    name: str
    agent: str
    description: str = ""
    path: str = ""
    host: str = "local"
    available: bool = True
    unavailable_reason: str | None = None


class Hello(_Payload):
    """Runner → hub, first frame: who it is, what it serves, the last seq it holds per session."""

    runner_id: str
    version: str
    teams: list[TeamInfo] = []
    sessions: dict[str, int] = {}
    agents: dict[str, str | None] = {}


class TeamsUpdate(_Payload):
    """Runner → hub, any time after `hello`: its teams again, because whether one can start
    changed (a program was installed, a host answers again, or a slow probe finished)."""

    teams: list[TeamInfo] = []


class Welcome(_Payload):
    """Hub → runner: the durable seq the hub holds for each of the runner's sessions
    (also those the hub believes still run on this runner); the runner resends
    everything after it."""

    sessions: dict[str, int] = {}
    heartbeat_s: float = 15.0
    dead_after_s: float = 30.0
    hub_version: str = ""
    """The hub's tether version (the runner logs it)."""
    max_frame_bytes: int = 1024 * 1024
    """Largest frame the hub accepts; the runner shrinks bigger events to fit."""


class ControlStart(_Payload):
    """Start (or resume) a session of a team."""

    action: Literal["start"] = "start"
    team: str
    prompt: str | None = None
    by: str | None = None
    resume: str | None = None
    after_seq: int = 0


class ControlUserMessage(_Payload):
    """Hand the agent a turn."""

    action: Literal["user_message"] = "user_message"
    text: str
    by: str | None = None


class ControlPermissionDecision(_Payload):
    """The owner's answer to a pending permission request."""

    action: Literal["permission_decision"] = "permission_decision"
    request_id: str
    behavior: Literal["allow", "deny"]
    message: str | None = None
    updated_input: dict[str, Any] | None = None
    option_id: str | None = None
    by: str | None = None

    def logged(self) -> PermissionDecision:
        """The log's record of this answer, once the agent took it."""
        return PermissionDecision.model_validate(self.model_dump(include=_LOGGED_DECISION))


# What of an owner's answer the log keeps (all but `action`).
_LOGGED_DECISION = {"request_id", "behavior", "by", "message", "updated_input", "option_id"}


class ControlInterrupt(_Payload):
    """Interrupt the running turn."""

    action: Literal["interrupt"] = "interrupt"
    by: str | None = None


class ControlStop(_Payload):
    """End the agent process."""

    action: Literal["stop"] = "stop"
    by: str | None = None


class ControlSetPermissionMode(_Payload):
    """Change the running agent's permission mode (Claude: default, acceptEdits, plan …)."""

    action: Literal["set_permission_mode"] = "set_permission_mode"
    mode: str = Field(min_length=1, max_length=64)
    by: str | None = None


class _TerminalBytes(_Payload):
    """Keystrokes: `text` (UTF-8) or `data` (base64 of bytes that are not UTF-8), one of them."""

    text: str | None = Field(default=None, max_length=MAX_TERMINAL_INPUT)
    data: str | None = Field(default=None, max_length=MAX_TERMINAL_INPUT * 4 // 3 + 4)

    @model_validator(mode="after")
    def _one_of_text_or_data(self) -> _TerminalBytes:
        if (self.text is None) == (self.data is None):
            raise ValueError("give exactly one of `text` or `data` (base64)")
        return self


class ControlTerminalInput(_TerminalBytes):
    """Type keystrokes into a terminal session (from its owner)."""

    action: Literal["terminal_input"] = "terminal_input"
    by: str | None = None


class ControlTerminalResize(_Payload):
    """The owner's terminal size (applied while no local console is attached)."""

    action: Literal["terminal_resize"] = "terminal_resize"
    cols: int = Field(ge=1, le=MAX_TERMINAL_COLS)
    rows: int = Field(ge=1, le=MAX_TERMINAL_ROWS)
    by: str | None = None


AnyControl = (
    ControlStart
    | ControlUserMessage
    | ControlPermissionDecision
    | ControlInterrupt
    | ControlStop
    | ControlSetPermissionMode
    | ControlTerminalInput
    | ControlTerminalResize
)
"""Every control the hub sends a runner, as a type (`Control` is the same, for parsing)."""

Control = Annotated[AnyControl, Field(discriminator="action")]


class SessionInfo(_Payload):
    """A session as the hub shows it."""

    id: str
    team: str
    agent: str = ""
    host: str = "local"
    state: str
    runner_id: str | None = None
    runner_connected: bool = False
    runner_last_seen: float | None = None
    runner_replica: str | None = None
    """The hub replica the runner is connected to (replicas on PostgreSQL; else None)."""
    owner: str | None = None
    followers: int = 0
    last_seq: int = 0
    exit_code: int | None = None
    agent_session_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    """Tokens and US dollars of every turn so far (summed `turn_finished` usage and cost;
    cost None when no turn reported one). None for a session this hub has not loaded
    since it started (one that had exited before): opening it counts them."""
    asleep: bool = False
    """Exited, but a message wakes it: put to sleep (idle_timeout) or ended cleanly, with
    an agent session id to resume (the message resumes it with its context)."""
    created_at: float = 0.0
    updated_at: float = 0.0
    pending_permissions: int = 0
    terminal: dict[str, Any] | None = None
    """Terminal sessions: {cols, rows, snapshot_seq, console}; a late viewer resumes after
    `snapshot_seq - 1` to get the current screen first."""


class Ready(_Payload):
    """Hub → viewer, first frame: the session and every permission request still pending."""

    session: SessionInfo
    last_seq: int
    pending_permissions: list[dict[str, Any]] = []
    expires_in: float | None = None
    """Seconds until this connection's credential expires (None: it does not); renew it
    in-band with an `auth` frame before then, or the hub closes the socket (4001)."""


class Role(_Payload):
    """Hub → viewer: what this connection may do."""

    role: Literal["owner", "follower"]
    reason: str | None = None


class Resume(_Payload):
    """Viewer → hub: send every event after `after`, then live ones (no gap, no duplicate)."""

    after: int = 0


class ViewerUserMessage(_Payload):
    """Viewer → hub: a turn for the agent (owner only)."""

    text: str = Field(min_length=1)


class ViewerPermissionDecision(_Payload):
    """Viewer → hub: answer a pending permission request (owner only)."""

    request_id: str
    behavior: Literal["allow", "deny"]
    message: str | None = None
    updated_input: dict[str, Any] | None = None
    option_id: str | None = None

    def control(self, *, by: str) -> ControlPermissionDecision:
        """The answer as the control its runner gets, signed by who gave it."""
        return ControlPermissionDecision(**self.model_dump(), by=by)


class Interrupt(_Payload):
    """Viewer → hub: interrupt the running turn (owner only)."""


class ViewerSetPermissionMode(_Payload):
    """Viewer → hub: change the agent's permission mode (owner only)."""

    mode: str = Field(min_length=1, max_length=64)


class ViewerTerminalInput(_TerminalBytes):
    """Viewer → hub: keystrokes for a terminal session (owner only)."""


class ViewerTerminalResize(_Payload):
    """Viewer → hub: the owner's terminal size (owner only)."""

    cols: int = Field(ge=1, le=MAX_TERMINAL_COLS)
    rows: int = Field(ge=1, le=MAX_TERMINAL_ROWS)


class Ack(_Payload):
    """Acknowledges a request (`ref` = the request envelope's `id`).

    On the runner socket the envelope's `session`/`seq` carry the cumulative ack instead.
    """

    ref: str | None = None


class ErrorMessage(_Payload):
    """Something the peer sent could not be done; `code` is stable, `message` is for people."""

    code: str
    message: str
    ref: str | None = None


class Ping(_Payload):
    """Heartbeat; the peer answers `pong`."""


class Pong(_Payload):
    """Heartbeat answer."""


class Auth(_Payload):
    """Client → hub: a token — a socket's first frame when the handshake carried none, or
    later, a fresh token of the same device renewing the open socket before expiry."""

    token: str


class Authenticated(_Payload):
    """Hub → client: an in-band `auth` renewed this socket's credential."""

    expires_in: float | None = None
    """Seconds until the socket's credential expires now (None: it does not)."""


# Every message type, which direction it travels, and its payload model.
MESSAGE_TYPES: dict[str, tuple[str, type[BaseModel] | Any]] = {
    "hello": ("runner → hub", Hello),
    "welcome": ("hub → runner", Welcome),
    "teams": ("runner → hub", TeamsUpdate),
    "event": ("runner → hub → viewer", None),
    "ack": ("hub → runner · hub → viewer", Ack),
    "control": ("hub → runner", Control),
    "ready": ("hub → viewer", Ready),
    "role": ("hub → viewer", Role),
    "resume": ("viewer → hub", Resume),
    "user_message": ("viewer → hub", ViewerUserMessage),
    "permission_decision": ("viewer → hub", ViewerPermissionDecision),
    "interrupt": ("viewer → hub", Interrupt),
    "set_permission_mode": ("viewer → hub", ViewerSetPermissionMode),
    "terminal_input": ("viewer → hub", ViewerTerminalInput),
    "terminal_resize": ("viewer → hub", ViewerTerminalResize),
    "error": ("any", ErrorMessage),
    "ping": ("any", Ping),
    "pong": ("any", Pong),
    "auth": ("viewer → hub · runner → hub", Auth),
    "authenticated": ("hub → viewer · hub → runner", Authenticated),
}


class CloseCode(IntEnum):
    """WebSocket close codes tether uses (4000–4999 are application codes)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    UNAUTHORIZED = 4001
    FORBIDDEN = 4003
    NOT_FOUND = 4004
    LAGGING = 4008
    HEARTBEAT_TIMEOUT = 4009
    REPLACED = 4010
    SHUTDOWN = 4011
