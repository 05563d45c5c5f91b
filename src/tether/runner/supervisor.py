"""Runs the sessions a runner was asked to start: one adapter per session, events to the outbox."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.agents.base import AgentAdapter, AgentContext, set_permission_mode
from tether.agents.process import AgentStartError
from tether.agents.registry import create_adapter
from tether.config import TeamConfig, TetherConfig
from tether.errors import TetherError
from tether.protocol.events import (
    ErrorEvent,
    Event,
    Exited,
    Status,
    UserMessage,
    event_payload,
)
from tether.protocol.messages import (
    AnyControl,
    ControlInterrupt,
    ControlPermissionDecision,
    ControlSetPermissionMode,
    ControlStart,
    ControlStop,
    ControlTerminalInput,
    ControlTerminalResize,
    ControlUserMessage,
)
from tether.runner.availability import TeamProbes
from tether.runner.outbox import Outbox
from tether.runner.pool import EVICT_REASON, IDLE_REASON, SessionPool
from tether.tasks import keep_task
from tether.transports.base import Transport
from tether.transports.factory import transport_for

log = logging.getLogger("tether.runner")

TransportFactory = Callable[[TeamConfig], Transport]


@dataclass
class RunningSession:
    """One live session on this runner."""

    id: str
    team: TeamConfig
    adapter: AgentAdapter | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    exited: bool = False
    started_at: float = 0.0


@dataclass(eq=False)
class SessionSupervisor:
    """Starts, steers and stops this runner's sessions."""

    config: TetherConfig
    outbox: Outbox
    data_dir: Path
    transport_factory: TransportFactory | None = None
    """Where a team's agent runs; by default `transport_for` the team."""
    probes: TeamProbes | None = None
    sessions: dict[str, RunningSession] = field(default_factory=dict, init=False)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, init=False)
    pool: SessionPool = field(default_factory=SessionPool, init=False)
    _end_reasons: dict[str, str] = field(default_factory=dict, init=False)
    _reaper: asyncio.Task[None] | None = field(default=None, init=False)

    def _transport(self, team: TeamConfig) -> Transport:
        if self.transport_factory is not None:
            return self.transport_factory(team)
        return transport_for(team, self.data_dir)

    def record(self, session_id: str, event: Event) -> None:
        """Record an event of a session (what its adapter emits)."""
        self.emit(session_id, event)

    def emit(self, session_id: str, event: Event) -> int:
        """Record an event of a session: its payload goes to the outbox, which gives it
        the session's next seq (returned)."""
        payload = event_payload(event)
        if isinstance(event, Exited):
            running = self.sessions.get(session_id)
            if running is not None:
                running.exited = True
            if session_id in self._end_reasons:
                payload["reason"] = self._end_reasons.pop(session_id)
        self.pool.observe(session_id, payload)
        return self.outbox.append(session_id, payload)

    async def handle(self, session_id: str, control: AnyControl) -> None:
        """Carry out one control message from the hub; failures become `error` events."""
        try:
            if isinstance(control, ControlStart):
                await self._start(session_id, control)
            elif isinstance(control, ControlUserMessage):
                session = await self._ready(session_id)
                self.emit(session_id, UserMessage(text=control.text, by=control.by))
                assert session.adapter is not None
                await session.adapter.send_user_message(control.text)
            elif isinstance(control, ControlPermissionDecision):
                session = await self._ready(session_id)
                assert session.adapter is not None
                await session.adapter.decide_permission(control)
                self.emit(session_id, control.logged())
            elif isinstance(control, ControlInterrupt):
                session = await self._ready(session_id)
                assert session.adapter is not None
                await session.adapter.interrupt()
            elif isinstance(control, ControlStop):
                await self.stop(session_id)
            elif isinstance(control, ControlSetPermissionMode):
                session = await self._ready(session_id)
                await set_permission_mode(session.adapter, control.mode)
            elif isinstance(control, ControlTerminalInput | ControlTerminalResize):
                from tether.agents.terminal import terminal_control

                session = await self._ready(session_id)
                await terminal_control(session.adapter, control)
        except TetherError as exc:
            log.info("session %s: %s failed: %s", session_id, control.action, exc)
            self.emit(session_id, ErrorEvent(code=exc.code, message=str(exc)))

    async def _ready(self, session_id: str) -> RunningSession:
        session = self.sessions.get(session_id)
        if session is None or session.exited:
            raise _SessionGone(session_id)
        await asyncio.wait_for(session.ready.wait(), session.team.session_init_timeout + 5)
        if session.adapter is None or session.exited:
            raise _SessionGone(session_id)
        return session

    async def _start(self, session_id: str, control: ControlStart) -> None:
        team = self.config.teams.get(control.team)
        self.outbox.start_at(session_id, control.after_seq)
        if team is None:
            message = f"this runner does not serve team {control.team!r}"
            self.emit(session_id, ErrorEvent(code="not_found", message=message))
            self.emit(session_id, Exited(code=None, reason="unknown team"))
            return
        existing = self.sessions.get(session_id)
        if existing is not None and not existing.exited:
            return  # a repeated start (hub resent it): already running
        session = await self._admit(session_id, team)
        if session is None:
            return
        self._start_reaper()
        detail = f"starting {team.agent} in {team.path} on {team.host}"
        self.emit(session_id, Status(state="starting", agent=team.agent, detail=detail))
        ctx = AgentContext(
            session_id=session_id,
            team=team,
            transport=self._transport(team),
            emit=functools.partial(self.record, session_id),
            data_dir=self.data_dir,
            resume=control.resume,
            resume_own=control.resume is not None and control.after_seq > 0,
        )
        try:
            adapter = create_adapter(ctx)
            await adapter.start()
        except TetherError as exc:
            self.emit(session_id, ErrorEvent(code=exc.code, message=str(exc)))
            # The process ran, then ended early: its exit code says how.
            code = exc.exit_code if isinstance(exc, AgentStartError) else None
            self.emit(session_id, Exited(code=code, reason=str(exc)))
            session.ready.set()
            return
        session.adapter = adapter
        session.ready.set()
        if control.prompt:
            self.emit(session_id, UserMessage(text=control.prompt, by=control.by))
            await adapter.send_user_message(control.prompt)

    async def _admit(self, session_id: str, team: TeamConfig) -> RunningSession | None:
        """Register the session before the first await — so a user message the hub sent
        right after the start waits for it to be ready instead of finding no such
        session — then check that the team can start and that there is room. None if
        not (the session is marked ended, and whoever waits for it is told so)."""
        session = RunningSession(
            id=session_id, team=team, started_at=asyncio.get_running_loop().time()
        )
        self.sessions[session_id] = session
        startable = False
        try:
            startable = await self._available(session_id, team) and await self._make_room(
                session_id
            )
        finally:
            if not startable:
                session.exited = True
                session.ready.set()
        return session if startable else None

    async def _available(self, session_id: str, team: TeamConfig) -> bool:
        """Probe the team again (cheaply) before a start; end the session at once if it cannot."""
        if self.probes is None:
            return True
        availability = await self.probes.recheck(team)
        if availability.available:
            return True
        reason = f"team {team.name!r} is unavailable: {availability.reason}"
        self.emit(session_id, ErrorEvent(code=availability.code or "unavailable", message=reason))
        self.emit(session_id, Exited(code=None, reason=reason))
        return False

    async def stop(self, session_id: str) -> None:
        """Stop a session's agent (it emits `exited`)."""
        session = self.sessions.get(session_id)
        if session is None or session.exited:
            return
        if session.adapter is not None:
            await session.adapter.stop()

    def adopt_orphans(self, hub_live: dict[str, int]) -> None:
        """Sessions the hub thinks run here but this runner does not know (it restarted):
        record that their agent process is gone, continuing each log after its durable seq."""
        for session_id, durable in hub_live.items():
            if session_id in self.sessions:
                continue
            # Spilled events we still owe the hub keep their seqs; the exit goes after them.
            self.outbox.start_at(session_id, durable)
            lost = "the runner restarted and the agent process was lost"
            self.emit(session_id, Exited(code=None, reason=lost))
            self.sessions[session_id] = RunningSession(
                id=session_id, team=TeamConfig(name="?"), exited=True
            )

    # -- idle sessions and the process pool ------------------------------------------------

    def _live_ids(self) -> list[str]:
        return [s.id for s in self.sessions.values() if not s.exited]

    async def _make_room(self, session_id: str) -> bool:
        """Under `max_processes`, or made so by stopping the LRU idle session; else refuse."""
        limit = self.config.max_processes
        others = [s for s in self._live_ids() if s != session_id]
        if len(others) < limit:
            return True
        victim = self.pool.least_recently_used_idle(others)
        if victim is None:
            message = (
                f"this runner already runs max_processes = {limit}"
                " sessions and none is idle; stop one or raise max_processes"
            )
            self.emit(session_id, ErrorEvent(code="conflict", message=message))
            self.emit(session_id, Exited(code=None, reason="max_processes"))
            return False
        log.info("evicting idle session %s to make room for %s", victim, session_id)
        self._end_reasons[victim] = EVICT_REASON.format(limit=limit)
        await self.stop(victim)
        return True

    def _start_reaper(self) -> None:
        idle_teams = any(t.idle_timeout for t in self.config.teams.values())
        if idle_teams and (self._reaper is None or self._reaper.done()):
            self._reaper = asyncio.create_task(self._reap_idle())

    async def _reap_idle(self) -> None:
        """Put sessions idle longer than their team's `idle_timeout` to sleep."""
        timeouts = [t.idle_timeout for t in self.config.teams.values() if t.idle_timeout]
        interval = min(5.0, max(0.05, min(timeouts) / 4))
        while True:
            await asyncio.sleep(interval)
            for session_id in self._live_ids():
                session = self.sessions[session_id]
                limit = session.team.idle_timeout
                idle = self.pool.idle_for(session_id)
                if not limit or idle is None or idle < limit or session_id in self._end_reasons:
                    continue
                log.info("session %s idle for %.0f s: stopping it", session_id, idle)
                self._end_reasons[session_id] = IDLE_REASON.format(seconds=limit)
                keep_task(self._tasks, self.stop(session_id))

    async def shutdown(self) -> None:
        """Stop every session (runner exiting)."""
        if self._reaper is not None:
            self._reaper.cancel()
        starting = [s for s in self.sessions.values() if not s.exited and not s.ready.is_set()]
        if starting:
            # An agent half-way through its start has a process but no adapter to stop it
            # yet: let the start finish (briefly), so no agent outlives its runner.
            log.info("waiting for %d session(s) still starting", len(starting))
            await asyncio.wait(
                [asyncio.ensure_future(s.ready.wait()) for s in starting],
                timeout=_SHUTDOWN_START_WAIT_S,
            )
        live = [s for s in self.sessions.values() if not s.exited and s.adapter is not None]
        if live:
            log.info("stopping %d session(s) before the runner exits", len(live))
        results = await asyncio.gather(*(self.stop(s.id) for s in live), return_exceptions=True)
        for session, result in zip(live, results, strict=True):
            if isinstance(result, BaseException):
                log.error("could not stop session %s: %r", session.id, result)


_SHUTDOWN_START_WAIT_S = 15.0


class _SessionGone(TetherError):
    code = "conflict"

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id} is not running on this runner (it has exited)",
            hint="start a new session, or resume this one",
        )
