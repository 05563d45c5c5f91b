"""The contract between the runner's session supervisor and an agent adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tether.config import TeamConfig
from tether.errors import AgentError
from tether.protocol.events import Event
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import Transport

#: One JSON object of an agent's own protocol (a stream-json message, a JSON-RPC frame or
#: its params): untyped on purpose, since it is the agent's, not tether's; an adapter reads
#: what it needs from it and emits typed events.
WireObject = dict[str, Any]

#: How an adapter reports what happened: one typed event of protocol/events.py at a time
#: (the supervisor gives it its seq and queues it for the hub).
Emit = Callable[[Event], None]


@dataclass
class AgentContext:
    """What an adapter gets: its team, where to run, and where to send events."""

    session_id: str
    team: TeamConfig
    transport: Transport
    emit: Emit
    data_dir: Path
    resume: str | None = None
    # `resume` names the agent session this very tether session ran before (a resume
    # after its process ended, not an adoption): if the agent never wrote any history
    # for it (no turn was ever sent), starting afresh under the same id loses nothing.
    resume_own: bool = False


class AgentAdapter(Protocol):
    """One agent process for one session.

    `start` spawns it and returns when it can take a turn; afterwards the adapter
    emits events through `ctx.emit` by itself, ending with one `exited` event.
    """

    async def start(self) -> None:
        """Spawn and initialize; raise AgentError/TransportError with a clear message."""

    async def send_user_message(self, text: str) -> None:
        """Hand the agent a turn."""

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Answer one of the agent's pending permission requests."""

    async def interrupt(self) -> None:
        """Interrupt the running turn."""

    async def stop(self) -> None:
        """End the process (TERM, then KILL); the adapter emits `exited`."""

    async def wait_exited(self) -> None:
        """Return once the process has ended and `exited` was emitted."""


@runtime_checkable
class PermissionModes(Protocol):
    """An adapter whose agent has permission modes it can switch while running."""

    async def set_permission_mode(self, mode: str) -> None:
        """Switch the running agent to `mode` (raises AgentError if it refuses)."""


async def set_permission_mode(adapter: AgentAdapter | None, mode: str) -> None:
    """Change a running agent's permission mode, if its adapter can (not every agent has modes)."""
    if not isinstance(adapter, PermissionModes):
        raise AgentError(
            "this agent has no permission modes to change",
            hint="permission modes exist for agent = claude (and the demo)",
        )
    await adapter.set_permission_mode(mode)
