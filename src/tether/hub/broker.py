"""The session broker: the hub's session machinery in one place, for routes and sockets.

It wires four parts, each one concept (and testable alone):

    runners.RunnerDirectory   which runner serves which team; controls to runners
    sessions.SessionRegistry  the sessions this hub serves; start, resume, steer
    ingest.Ingest             runners' events → store → state, viewers, observers, acks
    presence.Presence         viewers, the owner slot, fan-out, frames a viewer lacks

and does what spans them: a runner coming or going (its sessions' delivery state and
presence), and how a session looks from outside (`info`). Where scale-out will put a
replica boundary, the parts meet through the interfaces of `tether.hub.seams`.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

import tether
from tether.auth.principal import Principal
from tether.hub.ingest import Ingest
from tether.hub.live import LiveSession, Role, Viewer
from tether.hub.observers import Observers
from tether.hub.presence import LocalOwnerSlots, Presence
from tether.hub.runners import RunnerDirectory, RunnerLink
from tether.hub.seams import OwnerClaim, OwnerSlots
from tether.hub.sessions import SessionRegistry
from tether.hub.settings import HubSettings
from tether.protocol.messages import (
    ControlPermissionDecision,
    Hello,
    SessionInfo,
    TeamInfo,
    Welcome,
)
from tether.protocol.states import SessionState
from tether.store.base import SessionRecord, Store
from tether.store.retention import Pruned

log = logging.getLogger("tether.hub")

__all__ = ["Broker", "LiveSession", "RunnerLink", "Viewer"]


class Broker:
    """The hub's live view of runners, teams, sessions and viewers."""

    def __init__(
        self,
        store: Store,
        settings: HubSettings,
        *,
        directory: RunnerDirectory | None = None,
        owners: OwnerSlots | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.observers = Observers()
        """Who hears "these events of session S are durable" and presence changes."""
        # One process: the in-process seams; replicas on PostgreSQL pass shared ones
        # (tether.hub.replicated).
        self.directory = directory or RunnerDirectory(store)
        self.registry = SessionRegistry(store, settings, self.directory, self.directory)
        owners = owners or LocalOwnerSlots(store)
        self.presence = Presence(owners, self.registry.live, store, self.observers)
        self.ingest = Ingest(store, self.registry, self.presence, self.observers)

    async def load(self) -> None:
        """Rebuild live sessions (not yet exited) and known teams from the store."""
        await self.registry.load()
        await self.directory.load()

    @property
    def runners(self) -> dict[str, RunnerLink]:
        """Connected runners by id."""
        return self.directory.links

    @property
    def teams(self) -> dict[str, tuple[str, TeamInfo]]:
        """Team name → (runner id, what the runner said about it)."""
        return self.directory.teams

    @property
    def sessions(self) -> dict[str, LiveSession]:
        """Live sessions by id."""
        return self.registry.live

    @property
    def events_stored(self) -> int:
        """Events written since the hub started."""
        return self.ingest.events_stored

    # -- how sessions look ---------------------------------------------------------------

    async def session(self, session_id: str) -> LiveSession:
        """The live session (loaded from the store on first use), or NotFound."""
        return await self.registry.get(session_id)

    def info(self, live: LiveSession) -> SessionInfo:
        """How a session looks from outside right now."""
        record = live.record
        connected = self.directory.is_connected(record.runner_id)
        state = live.tracker.state
        if not connected and state is not SessionState.EXITED:
            state = SessionState.LOST
        owner = self.presence.owner(live)
        agent_session_id = live.tracker.agent_session_id or record.agent_session_id
        return _info(
            record,
            state=state.value,
            runner_connected=connected,
            runner_last_seen=self.directory.last_seen(record.runner_id),
            runner_replica=self.directory.replica_of(record.runner_id),
            owner=owner.label if owner else None,
            followers=self.presence.followers(live),
            last_seq=live.durable_seq,
            exit_code=live.tracker.exit_code,
            agent_session_id=agent_session_id,
            asleep=live.tracker.asleep and agent_session_id is not None,
            input_tokens=live.tracker.spent.input_tokens,
            output_tokens=live.tracker.spent.output_tokens,
            cost=live.tracker.spent.cost,
            pending_permissions=len(live.tracker.pending),
            terminal=live.tracker.terminal,
        )

    async def list_sessions(self) -> list[SessionInfo]:
        """Every session: live ones from memory, the rest from the store."""
        out = []
        for record in await self.store.list_sessions():
            live = self.sessions.get(record.id)
            if live is not None:
                out.append(self.info(live))
            else:
                out.append(
                    _info(
                        record,
                        state=record.state,
                        runner_connected=self.directory.is_connected(record.runner_id),
                        runner_last_seen=self.directory.last_seen(record.runner_id),
                        runner_replica=self.directory.replica_of(record.runner_id),
                        last_seq=record.last_seq,
                    )
                )
        return out

    async def prune(self, before: float, *, dry_run: bool = False) -> Pruned:
        """Remove exited sessions last updated before `before` (see `SessionRegistry.prune`)."""
        return await self.registry.prune(before, dry_run=dry_run)

    def list_teams(self) -> list[dict[str, Any]]:
        """Every team a runner has announced (see `RunnerDirectory.list_teams`)."""
        return self.directory.list_teams()

    # -- runners ---------------------------------------------------------------------------

    async def runner_connected(self, link: RunnerLink, hello: Hello) -> Welcome:
        """Register a runner; tell it what the hub holds for each of its sessions."""
        old = await self.directory.connect(link, hello)
        if old is not None:
            log.warning("runner %s connected again; closing its older connection", link.id)
            closing = old.receiver.replaced()
            await old.close(closing.code, closing.reason)
        durable: dict[str, int] = {}
        for session_id in hello.sessions:
            durable[session_id] = await self._durable_seq_for(link.id, session_id)
        for live in self.registry.of_runner(link.id):
            if live.tracker.state is not SessionState.EXITED:
                durable.setdefault(live.id, live.durable_seq)
        for session_id in durable:
            live_or_none = self.sessions.get(session_id)
            if live_or_none is not None and live_or_none.record.runner_id == link.id:
                live_or_none.cursor.reset()
                self.presence.announce(live_or_none, self.info(live_or_none))
        return Welcome(
            sessions=durable,
            hub_version=tether.__version__,
            heartbeat_s=self.settings.heartbeat_s,
            dead_after_s=self.settings.dead_after_s,
            max_frame_bytes=self.settings.max_frame_bytes,
        )

    async def runner_ready(self, link: RunnerLink) -> None:
        """The runner has its `welcome`: controls may go to it now (replicas send what
        waited for it in the database; one hub has nothing waiting)."""
        await self.directory.runner_ready(link)

    async def _durable_seq_for(self, runner_id: str, session_id: str) -> int:
        """The durable seq of a session a runner names in `hello`: 0 for one this hub has
        never seen *and* for one of another runner, so that a `hello` reveals neither
        the existence nor the seq of someone else's session (issue #11, finding 2)."""
        live = self.sessions.get(session_id)
        if live is None:
            record = await self.store.get_session(session_id)
            if record is None or record.runner_id != runner_id:
                return 0
            live = await self.session(session_id)
        return live.durable_seq if live.record.runner_id == runner_id else 0

    def runner_disconnected(self, link: RunnerLink) -> None:
        """A runner went away: its sessions show as `lost` until it returns."""
        if self.directory.disconnect(link):
            for live in self.registry.of_runner(link.id):
                live.cursor.reset()
                self.presence.announce(live, self.info(live))

    # -- sessions --------------------------------------------------------------------------

    async def start_session(
        self, team: str, principal: Principal, prompt: str | None = None, *, resume: str | None
    ) -> LiveSession:
        """Create a session of a team and ask its runner to start the agent."""
        return await self.registry.start(team, principal, prompt, resume=resume)

    async def resume_session(
        self, live: LiveSession, principal: Principal, prompt: str | None = None
    ) -> None:
        """Start the agent of an exited session again (same log, same agent session)."""
        await self.registry.resume(live, principal, prompt)

    async def send_message(self, live: LiveSession, principal: Principal, text: str) -> bool:
        """Hand the agent a turn, waking a session that is asleep (True: it was woken)."""
        return await self.registry.send_message(live, principal, text)

    async def decide_permission(
        self, live: LiveSession, decision: ControlPermissionDecision
    ) -> None:
        """Pass an answer to the runner, if the request is still pending."""
        await self.registry.decide_permission(live, decision)

    async def control(self, live: LiveSession, payload: BaseModel) -> None:
        """Send a control message to the session's runner, or say why it cannot be done."""
        await self.registry.control(live, payload)

    # -- viewers ---------------------------------------------------------------------------

    async def join(self, live: LiveSession, viewer: Viewer, *, follow: bool) -> Role:
        """Add a viewer; it becomes owner if it asked to and the slot is free."""
        role = await self.presence.join(live, viewer, follow=follow)
        self.presence.announce(live, self.info(live))
        return role

    async def take(
        self, live: LiveSession, viewer: Viewer | None, reason: str
    ) -> OwnerClaim | None:
        """Take the owner slot from its holder (see `Presence.take`); the previous owner."""
        previous = await self.presence.take(live, viewer, reason)
        self.presence.announce(live, self.info(live))
        return previous

    async def leave(self, live: LiveSession, viewer: Viewer) -> bool:
        """Remove a viewer (True: it was the owner; the slot is free now)."""
        was_owner = await self.presence.leave(live, viewer)
        self.presence.announce(live, self.info(live))
        return was_owner

    def may_write(self, live: LiveSession, principal: Principal) -> bool:
        """HTTP writes: allowed from the owner's principal, or when the owner slot is free."""
        return self.presence.may_write(live, principal)

    async def frames_after(
        self, live: LiveSession, cursor: int, limit: int = 500
    ) -> list[tuple[int, str]]:
        """Event frames with seq > cursor, oldest first."""
        return await self.presence.frames_after(live, cursor, limit)


def _info(record: SessionRecord, **fields: Any) -> SessionInfo:
    return SessionInfo(
        id=record.id,
        team=record.team,
        agent=record.agent,
        host=record.host,
        runner_id=record.runner_id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        **{"exit_code": record.exit_code, "agent_session_id": record.agent_session_id, **fields},
    )
