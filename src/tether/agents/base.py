"""The contract between the runner's session supervisor and an agent adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tether.config import TeamConfig
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import Transport

Emit = Callable[[dict[str, Any]], None]


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


async def set_permission_mode(adapter: AgentAdapter | None, mode: str) -> None:
    """Change a running agent's permission mode, if its adapter can (not every agent has modes)."""
    from tether.errors import AgentError

    change = getattr(adapter, "set_permission_mode", None)
    if change is None:
        raise AgentError(
            "this agent has no permission modes to change",
            hint="permission modes exist for agent = claude (and the demo)",
        )
    await change(mode)
