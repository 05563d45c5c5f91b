"""The bodies the hub's HTTP API takes and answers with (OpenAPI at /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tether.protocol.messages import SessionInfo

# An agent's own session id (handed to the agent as `--resume=<id>`): a plain token.
AGENT_SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class StartRequest(BaseModel):
    """Start a session of a team, optionally with a first turn."""

    team: str
    prompt: str | None = None
    # An agent session started outside tether (Claude's session id, Codex's thread id,
    # an ACP session id) to continue; `resume` is accepted as another name for it.
    adopt: str | None = Field(default=None, pattern=AGENT_SESSION_ID_PATTERN)
    resume: str | None = Field(default=None, pattern=AGENT_SESSION_ID_PATTERN)


class MessageRequest(BaseModel):
    """A turn for the agent."""

    text: str = Field(min_length=1)


class DecisionRequest(BaseModel):
    """The answer to a pending permission request."""

    behavior: Literal["allow", "deny"]
    message: str | None = None
    updated_input: dict[str, Any] | None = None
    option_id: str | None = None


class Health(BaseModel):
    """`/healthz`: the hub is up."""

    ok: bool = True
    version: str
    runners: int
    """Runners connected now."""


class Readiness(BaseModel):
    """`/readyz`: whether to send this hub traffic (503 with the reason when not)."""

    ready: bool
    reason: str | None = None


class SessionDetail(SessionInfo):
    """One session and every permission request still waiting for an answer."""

    pending: list[dict[str, Any]]


class StoredEventOut(BaseModel):
    """One event of a session's log."""

    seq: int
    ts: float
    payload: dict[str, Any]


class EventsPage(BaseModel):
    """Stored events of a session, oldest first; page on with the last `seq`."""

    session: str
    last_seq: int
    events: list[StoredEventOut]


class ResumeRequest(BaseModel):
    """Continue an exited session, optionally with a first turn."""

    prompt: str | None = None


class PermissionModeRequest(BaseModel):
    """A permission mode for the running agent (Claude: default, acceptEdits, plan …)."""

    mode: str = Field(min_length=1, max_length=64)


class PruneRequest(BaseModel):
    """Remove the exited sessions last updated before `before` (epoch seconds)."""

    before: float = Field(allow_inf_nan=False, ge=0)
    dry_run: bool = False
