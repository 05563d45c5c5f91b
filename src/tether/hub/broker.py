"""The session broker: which runner serves which team, each session's live state, its
viewers (owner and followers), durable ingest of runner events, and fan-out.

Ingest: a runner's events are queued per connection and written to the store in
batches; only after a batch is durable are the events applied, fanned out and acked.
Fan-out is pull-based: every viewer has a cursor and a wake-up flag; it reads what
it has not seen from the in-memory tail of the log, or from the store when it is
further behind — so a slow viewer never holds up the runner or anyone else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from tether.auth.principal import Principal
from tether.errors import Conflict, NotFound, StoreError
from tether.hub.settings import HubSettings
from tether.ids import new_session_id
from tether.protocol.codec import Envelope, encode, make
from tether.protocol.messages import (
    ControlPermissionDecision,
    ControlStart,
    Hello,
    SessionInfo,
    TeamInfo,
    Welcome,
)
from tether.protocol.states import SessionState, SessionTracker
from tether.store.base import SessionRecord, Store, StoredEvent
from tether.tasks import keep_task

log = logging.getLogger("tether.hub")

SendText = Callable[[str], Awaitable[None]]
CloseFn = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False)
class RunnerLink:
    """A connected runner."""

    id: str
    send_text: SendText
    close: CloseFn
    version: str = ""
    teams: list[TeamInfo] = field(default_factory=list)
    agents: dict[str, str | None] = field(default_factory=dict)  # agent CLI → version
    last_seen: float = field(default_factory=time.time)
    principal: Principal | None = None
    pending: list[Envelope] = field(default_factory=list)
    flushing: bool = False
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, envelope: Envelope) -> None:
        """Send one frame (sends are serialized)."""
        async with self.send_lock:
            await self.send_text(encode(envelope))


@dataclass(eq=False)
class Viewer:
    """One viewer connection to one session."""

    id: str
    principal: Principal
    role: str = "follower"
    cursor: int | None = None  # None until the viewer sent `resume`
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    outgoing: deque[str] = field(default_factory=deque)
    closed: bool = False

    def push(self, envelope: Envelope) -> None:
        """Queue a non-event frame (ack, error, session update) for this viewer."""
        self.outgoing.append(encode(envelope))
        self.wake.set()


@dataclass(eq=False)
class LiveSession:
    """A session the hub is serving: its record, derived state, viewers and recent frames."""

    record: SessionRecord
    tracker: SessionTracker
    recent: deque[tuple[int, str]]
    submitted_seq: int = 0
    viewers: dict[str, Viewer] = field(default_factory=dict)
    owner: Viewer | None = None

    @property
    def durable_seq(self) -> int:
        """Highest seq stored (and applied)."""
        return self.tracker.last_seq


class Broker:
    """Holds the hub's live view of runners, teams and sessions."""

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self.store = store
        self.settings = settings
        self.runners: dict[str, RunnerLink] = {}
        self.runner_last_seen: dict[str, float] = {}
        self.teams: dict[str, tuple[str, TeamInfo]] = {}
        self.sessions: dict[str, LiveSession] = {}
        self._load_lock = asyncio.Lock()
        self.listeners: list[Callable[[LiveSession], None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self.events_stored = 0  # since start, for /metrics

    # -- loading ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild live sessions (not yet exited) and known teams from the store."""
        for record in await self.store.list_sessions():
            if record.state != SessionState.EXITED:
                await self.session(record.id)
        for runner in await self.store.list_runners():
            self.runner_last_seen[runner["id"]] = runner["last_seen"]
            for team in json.loads(runner["teams"]):
                info = TeamInfo.model_validate(team)
                self.teams.setdefault(info.name, (runner["id"], info))

    async def session(self, session_id: str) -> LiveSession:
        """The live session (loaded from the store on first use), or NotFound."""
        live = self.sessions.get(session_id)
        if live is not None:
            return live
        async with self._load_lock:
            live = self.sessions.get(session_id)
            if live is not None:
                return live
            record = await self.store.get_session(session_id)
            if record is None:
                raise NotFound(
                    f"no session {session_id!r}", hint="list them with `tether sessions`"
                )
            tracker = SessionTracker()
            recent: deque[tuple[int, str]] = deque(maxlen=self.settings.recent_events)
            after = 0
            while True:
                events = await self.store.read_events(session_id, after, limit=5000)
                if not events:
                    break
                for event in events:
                    tracker.apply(event.seq, json.loads(event.payload))
                    recent.append((event.seq, _event_frame(event)))
                after = events[-1].seq
            live = LiveSession(
                record=record, tracker=tracker, recent=recent, submitted_seq=tracker.last_seq
            )
            self.sessions[session_id] = live
            return live

    # -- queries ---------------------------------------------------------------------------

    def info(self, live: LiveSession) -> SessionInfo:
        """How a session looks from outside right now."""
        record = live.record
        runner_connected = record.runner_id in self.runners
        state = live.tracker.state
        if not runner_connected and state is not SessionState.EXITED:
            state = SessionState.LOST
        followers = sum(1 for v in live.viewers.values() if v is not live.owner)
        return SessionInfo(
            id=record.id,
            team=record.team,
            agent=record.agent,
            host=record.host,
            state=state.value,
            runner_id=record.runner_id,
            runner_connected=runner_connected,
            runner_last_seen=(
                time.time()
                if runner_connected
                else self.runner_last_seen.get(record.runner_id or "")
            ),
            owner=live.owner.principal.label if live.owner else None,
            followers=followers,
            last_seq=live.durable_seq,
            exit_code=live.tracker.exit_code,
            agent_session_id=live.tracker.agent_session_id or record.agent_session_id,
            created_at=record.created_at,
            updated_at=record.updated_at,
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
                    SessionInfo(
                        id=record.id,
                        team=record.team,
                        agent=record.agent,
                        host=record.host,
                        state=record.state,
                        runner_id=record.runner_id,
                        runner_connected=record.runner_id in self.runners,
                        runner_last_seen=self.runner_last_seen.get(record.runner_id or ""),
                        owner=None,
                        last_seq=record.last_seq,
                        exit_code=record.exit_code,
                        agent_session_id=record.agent_session_id,
                        created_at=record.created_at,
                        updated_at=record.updated_at,
                    )
                )
        return out

    def list_teams(self) -> list[dict[str, Any]]:
        """Every team a runner has announced, whether that runner is connected now, and
        (for claude/codex/gemini teams) the version of the agent CLI it found, or None
        when the CLI is missing there."""
        teams = []
        for _name, (runner_id, info) in sorted(self.teams.items()):
            link = self.runners.get(runner_id)
            team: dict[str, Any] = {
                **info.model_dump(),
                "runner_id": runner_id,
                "runner_connected": link is not None,
            }
            if link is not None and info.agent in link.agents:
                team["agent_version"] = link.agents[info.agent]
                team["agent_installed"] = link.agents[info.agent] is not None
            teams.append(team)
        return teams

    # -- runners ---------------------------------------------------------------------------

    async def runner_connected(self, link: RunnerLink, hello: Hello) -> Welcome:
        """Register a runner; tell it what the hub holds for each of its sessions."""
        old = self.runners.get(link.id)
        if old is not None and old is not link:
            log.warning("runner %s connected again; closing its older connection", link.id)
            await old.close(4010, "replaced by a newer connection of the same runner")
        link.version, link.teams = hello.version, list(hello.teams)
        link.agents = dict(hello.agents)
        self.runners[link.id] = link
        for team in hello.teams:
            self.teams[team.name] = (link.id, team)
        now = time.time()
        self.runner_last_seen[link.id] = now
        await self.store.save_runner(
            link.id, hello.version, json.dumps([t.model_dump() for t in hello.teams]), now
        )
        durable: dict[str, int] = {}
        for session_id in hello.sessions:
            try:
                durable[session_id] = (await self.session(session_id)).durable_seq
            except NotFound:
                durable[session_id] = 0
        for live in self.sessions.values():
            if live.record.runner_id == link.id and live.tracker.state is not SessionState.EXITED:
                durable.setdefault(live.record.id, live.durable_seq)
        for session_id, seq in durable.items():
            live_or_none = self.sessions.get(session_id)
            if live_or_none is not None:
                live_or_none.submitted_seq = seq
                self._changed(live_or_none, presence=True)
        return Welcome(
            sessions=durable,
            heartbeat_s=self.settings.heartbeat_s,
            dead_after_s=self.settings.dead_after_s,
            max_frame_bytes=self.settings.max_frame_bytes,
        )

    def runner_disconnected(self, link: RunnerLink) -> None:
        """A runner went away: its sessions show as `lost` until it returns."""
        if self.runners.get(link.id) is link:
            del self.runners[link.id]
            self.runner_last_seen[link.id] = time.time()
            for live in self.sessions.values():
                if live.record.runner_id == link.id:
                    live.submitted_seq = live.durable_seq
                    self._changed(live, presence=True)

    def ingest(self, link: RunnerLink, envelope: Envelope) -> None:
        """Queue a runner's event for durable storage; ack and fan-out follow the write."""
        link.last_seen = time.time()
        link.pending.append(envelope)
        if not link.flushing:
            link.flushing = True
            keep_task(self._background, self._flush(link))

    async def _flush(self, link: RunnerLink) -> None:
        try:
            while link.pending:
                batch, link.pending = link.pending, []
                await self._store_batch(link, batch)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            # The runner's socket went away mid-batch. What was stored stays stored; the
            # runner learns the durable seq from `welcome` when it reconnects, and resends.
            log.info("runner %s went away while its events were stored: %r", link.id, exc)
            link.pending.clear()
        finally:
            link.flushing = False

    async def _store_batch(self, link: RunnerLink, batch: list[Envelope]) -> None:
        accepted: list[tuple[LiveSession, StoredEvent, dict[str, Any]]] = []
        for env in batch:
            assert env.session is not None and env.seq is not None
            try:
                live = await self.session(env.session)
            except NotFound:
                await link.send(
                    make(
                        "error",
                        {"code": "not_found", "message": f"no session {env.session!r} on this hub"},
                    )
                )
                continue
            if live.record.runner_id != link.id:
                await link.send(
                    make(
                        "error",
                        {
                            "code": "forbidden",
                            "message": f"session {env.session} belongs to another runner",
                        },
                    )
                )
                continue
            if env.seq <= live.submitted_seq:
                continue  # a resend of something we have (or are writing): ack covers it
            if env.seq != live.submitted_seq + 1:
                log.warning(
                    "runner %s skipped from seq %d to %d in %s; asking it to resend",
                    link.id,
                    live.submitted_seq,
                    env.seq,
                    env.session,
                )
                await link.close(
                    1002, f"seq gap in {env.session}: expected {live.submitted_seq + 1}"
                )
                return
            live.submitted_seq = env.seq
            payload_text = json.dumps(env.payload, separators=(",", ":"), ensure_ascii=False)
            stored = StoredEvent(
                env.session, env.seq, env.ts, str(env.payload.get("kind", "")), payload_text
            )
            accepted.append((live, stored, env.payload))
        if accepted:
            try:
                await self.store.append_events([s for _l, s, _f in accepted])
                self.events_stored += len(accepted)
            except StoreError as exc:
                log.error("could not store events from runner %s: %s", link.id, exc)
                for live, _s, _f in accepted:
                    live.submitted_seq = live.durable_seq
                await link.close(1011, "the hub could not store events; resend later")
                return
        touched: dict[str, LiveSession] = {}
        woken: dict[str, LiveSession] = {}
        for live, stored, payload in accepted:
            if stored.seq <= live.tracker.last_seq:
                # An older connection of this runner stored it meanwhile (a reconnect raced
                # its last batch): the log ignored the duplicate, and so must the live view.
                continue
            before = (live.tracker.state, live.tracker.exit_code, live.tracker.agent_session_id)
            live.tracker.apply(stored.seq, payload)
            live.recent.append((stored.seq, _event_frame(stored)))
            after = (live.tracker.state, live.tracker.exit_code, live.tracker.agent_session_id)
            if before != after:
                touched[live.record.id] = live
            woken[live.record.id] = live
        for live in woken.values():
            self._changed(live)
        for live in touched.values():
            live.record.state = live.tracker.state.value
            live.record.exit_code = live.tracker.exit_code
            live.record.agent_session_id = live.tracker.agent_session_id
            await self.store.update_session(
                live.record.id,
                state=live.record.state,
                exit_code=live.record.exit_code,
                agent_session_id=live.record.agent_session_id,
            )
        acks: dict[str, int] = {}
        for env in batch:
            assert env.session is not None
            live_or_none = self.sessions.get(env.session)
            if live_or_none is not None and live_or_none.record.runner_id == link.id:
                acks[env.session] = live_or_none.durable_seq
        for session_id, seq in acks.items():
            await link.send(make("ack", session=session_id, seq=seq))

    # -- sessions --------------------------------------------------------------------------

    async def start_session(
        self,
        team: str,
        principal: Principal,
        prompt: str | None = None,
        *,
        resume: str | None = None,
    ) -> LiveSession:
        """Create a session of a team and ask its runner to start the agent."""
        entry = self.teams.get(team)
        if entry is None:
            raise NotFound(f"no team {team!r}", hint="list teams with `tether teams`")
        runner_id, info = entry
        link = self.runners.get(runner_id)
        if link is None:
            raise Conflict(
                f"the runner serving team {team!r} ({runner_id}) is not connected",
                hint="start it (`tether runner`) and try again",
            )
        now = time.time()
        record = SessionRecord(
            id=new_session_id(),
            team=team,
            agent=info.agent,
            host=info.host,
            runner_id=runner_id,
            created_by=principal.user_id or principal.label,
            created_at=now,
            updated_at=now,
        )
        await self.store.create_session(record)
        live = LiveSession(
            record=record,
            tracker=SessionTracker(),
            recent=deque(maxlen=self.settings.recent_events),
        )
        self.sessions[record.id] = live
        await link.send(
            make(
                "control",
                ControlStart(team=team, prompt=prompt, by=principal.label, resume=resume),
                session=record.id,
            )
        )
        return live

    async def resume_session(
        self, live: LiveSession, principal: Principal, prompt: str | None = None
    ) -> None:
        """Start the agent of an exited session again, continuing its agent session and its
        event log (the runner numbers new events after the durable seq: no gap)."""
        session_id = live.record.id
        if live.tracker.state is not SessionState.EXITED:
            raise Conflict(
                f"session {session_id} is still running ({live.tracker.state.value})",
                hint="send it a message instead, or stop it first",
            )
        agent_session_id = live.tracker.agent_session_id or live.record.agent_session_id
        if not agent_session_id:
            raise Conflict(
                f"session {session_id} never reported an agent session id, so it cannot be resumed",
                hint="start a new session of the team",
            )
        link = self.runners.get(live.record.runner_id or "")
        if link is None:
            raise Conflict(
                f"the runner of session {session_id} ({live.record.runner_id}) is not connected",
                hint="start it (`tether runner`) and try again",
            )
        start = ControlStart(
            team=live.record.team,
            prompt=prompt,
            by=principal.label,
            resume=agent_session_id,
            after_seq=live.durable_seq,
        )
        await link.send(make("control", start, session=session_id))

    async def decide_permission(
        self, live: LiveSession, decision: ControlPermissionDecision
    ) -> None:
        """Pass an answer to the runner, if the request is still pending."""
        if decision.request_id not in live.tracker.pending:
            raise NotFound(
                f"no pending permission request {decision.request_id!r} (already answered?)"
            )
        await self.control(live, decision)

    async def control(self, live: LiveSession, payload: BaseModel) -> None:
        """Send a control message to the session's runner, or say why it cannot be done."""
        if live.tracker.state is SessionState.EXITED:
            raise Conflict(
                f"session {live.record.id} has exited", hint="start a new session of the team"
            )
        link = self.runners.get(live.record.runner_id or "")
        if link is None:
            raise Conflict(
                f"the runner of session {live.record.id} is not connected",
                hint="wait for it to reconnect, then try again",
            )
        await link.send(make("control", payload, session=live.record.id))

    # -- viewers -----------------------------------------------------------------------------

    def join(self, live: LiveSession, viewer: Viewer, *, follow: bool) -> str:
        """Add a viewer; it becomes owner if it asked to and the slot is free."""
        live.viewers[viewer.id] = viewer
        if not follow and live.owner is None and not viewer.principal.read_only:
            live.owner = viewer
            viewer.role = "owner"
            self._persist_owner(live)
        else:
            viewer.role = "follower"
        self._changed(live, presence=True)
        return viewer.role

    def leave(self, live: LiveSession, viewer: Viewer) -> None:
        """Remove a viewer; an owner leaving frees the slot (followers are not promoted)."""
        viewer.closed = True
        live.viewers.pop(viewer.id, None)
        if live.owner is viewer:
            live.owner = None
            self._persist_owner(live)
        self._changed(live, presence=True)

    def may_write(self, live: LiveSession, principal: Principal) -> bool:
        """HTTP writes: allowed from the owner's principal, or when the owner slot is free."""
        if principal.read_only:
            return False
        return live.owner is None or live.owner.principal.id == principal.id

    def _persist_owner(self, live: LiveSession) -> None:
        owner = live.owner.principal.label if live.owner else None
        live.record.owner = owner
        task = keep_task(self._background, self.store.update_session(live.record.id, owner=owner))
        task.add_done_callback(_log_task_error)

    def _changed(self, live: LiveSession, *, presence: bool = False) -> None:
        if presence:
            frame = make("session", self.info(live), session=live.record.id)
            for viewer in live.viewers.values():
                viewer.push(frame)
        for viewer in live.viewers.values():
            viewer.wake.set()
        for listener in self.listeners:
            listener(live)

    async def frames_after(
        self, live: LiveSession, cursor: int, limit: int = 500
    ) -> list[tuple[int, str]]:
        """Event frames with seq > cursor: from memory if the tail covers them, else the store."""
        recent = live.recent
        if recent and recent[0][0] <= cursor + 1:
            # The tail holds consecutive seqs, so the cursor's position is arithmetic.
            start = cursor + 1 - recent[0][0]
            return list(itertools.islice(recent, start, start + limit))
        events = await self.store.read_events(live.record.id, cursor, limit)
        return [(e.seq, _event_frame(e)) for e in events if e.seq <= live.durable_seq]


def _event_frame(event: StoredEvent) -> str:
    return (
        '{"v":1,"type":"event","session":'
        + json.dumps(event.session_id)
        + ',"seq":'
        + str(event.seq)
        + ',"ts":'
        + repr(event.ts)
        + ',"payload":'
        + event.payload
        + "}"
    )


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background store update failed: %s", task.exception())
