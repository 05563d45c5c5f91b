"""The PTY host's sessions, steered by the hub: the runner's supervisor for held terminals.

It stands in for `runner.supervisor.SessionSupervisor` inside the host's `Runner` (same
`handle` / `adopt_orphans` / `shutdown` / `sessions`), so the host gets the runner's
delivery for free: per-session seqs, the outbox that survives hub restarts, heartbeats
and reconnects. Terminals are not started by the hub — `tether run` opens them through
the host's local socket — so `start` is refused.
"""

from __future__ import annotations

import logging

from tether.errors import AgentError, Conflict, TetherError
from tether.protocol.events import ErrorEvent, Event, Exited, event_payload
from tether.protocol.messages import (
    AnyControl,
    ControlInterrupt,
    ControlPermissionDecision,
    ControlStart,
    ControlStop,
    ControlTerminalInput,
    ControlTerminalResize,
    ControlUserMessage,
)
from tether.ptyhost.held import HeldTerminal
from tether.runner.outbox import Outbox
from tether.terminal.chunks import chunk_bytes

log = logging.getLogger("tether.terminal")


class HostSessions:
    """Every terminal this host holds, by session id."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.sessions: dict[str, HeldTerminal | None] = {}
        """Held terminals; None for a session the hub thinks is here but is not (lost)."""

    def emit(self, session_id: str, event: Event) -> None:
        """Record an event of a session."""
        self.outbox.append(session_id, event_payload(event))

    def add(self, session_id: str, name: str) -> HeldTerminal:
        """A new terminal for session `session_id` (not started yet)."""
        held = HeldTerminal(session_id, name, lambda p: self.emit(session_id, p))
        self.sessions[session_id] = held
        return held

    def live(self) -> list[HeldTerminal]:
        """Terminals whose program still runs."""
        return [t for t in self.sessions.values() if t is not None and not t.exited.is_set()]

    async def handle(self, session_id: str, control: AnyControl) -> None:
        """Carry out a control from the hub; failures become `error` events."""
        try:
            held = self.sessions.get(session_id)
            if held is None or held.exited.is_set():
                raise Conflict(f"terminal session {session_id} has ended")
            await _apply(held, control)
        except TetherError as exc:
            log.info("terminal %s: %s failed: %s", session_id, control.action, exc)
            self.emit(session_id, ErrorEvent(code=exc.code, message=str(exc)))

    def adopt_orphans(self, hub_live: dict[str, int]) -> None:
        """Sessions the hub thinks run here that this host does not hold (it restarted)."""
        for session_id, durable in hub_live.items():
            if session_id in self.sessions:
                continue
            self.outbox.start_at(session_id, durable)
            self.emit(
                session_id,
                Exited(code=None, reason="the terminal host restarted and the program was lost"),
            )
            self.sessions[session_id] = None

    async def shutdown(self) -> None:
        """End every program (the host is exiting)."""
        for held in self.live():
            try:
                await held.stop()
            except Exception:
                log.exception("could not stop terminal %s", held.session_id)


async def _apply(held: HeldTerminal, control: AnyControl) -> None:
    if isinstance(control, ControlTerminalInput):
        held.type(chunk_bytes(control.model_dump()))
    elif isinstance(control, ControlTerminalResize):
        held.resize(control.cols, control.rows, by=control.by)
    elif isinstance(control, ControlUserMessage):
        await held.type_line(control.text, control.by)
    elif isinstance(control, ControlInterrupt):
        held.type(b"\x03")
    elif isinstance(control, ControlStop):
        await held.stop()
    elif isinstance(control, ControlPermissionDecision):
        held.decide_permission(control)
    elif isinstance(control, ControlStart):
        raise Conflict("terminal sessions are started with `tether run`, not by the hub")
    else:
        raise AgentError("a terminal has no permission modes to change")
