"""The session registry: the sessions this hub serves (loaded from the store on first
use), and starting, resuming and steering them through their runner."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field

from pydantic import BaseModel

from tether.auth.principal import Principal
from tether.errors import Conflict, NotFound
from tether.hub.live import LiveSession, stored_frame
from tether.hub.seams import ControlRoute, Directory
from tether.hub.settings import HubSettings
from tether.ids import new_session_id
from tether.protocol.delivery import HubCursor
from tether.protocol.messages import ControlPermissionDecision, ControlStart, ControlUserMessage
from tether.protocol.states import SessionState, SessionTracker
from tether.store.base import SessionRecord, Store
from tether.store.retention import Pruned, prune_exited

_LOAD_PAGE = 5000
# How long a wake-up (a resume the hub asked for) shuts out a second one while the
# runner has not answered yet; after that a message may try again.
_WAKE_GRACE_S = 30.0


@dataclass(eq=False)
class SessionRegistry:
    """Live sessions by id, and the operations that reach their runner."""

    store: Store
    settings: HubSettings
    directory: Directory
    controls: ControlRoute
    live: dict[str, LiveSession] = field(default_factory=dict, init=False)
    _load_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    # session id → (its durable seq, the time) when the hub asked its runner to resume
    # it: until the runner's first event after that, the session is still waking.
    _waking: dict[str, tuple[int, float]] = field(default_factory=dict, init=False)

    async def load(self) -> None:
        """Serve again every session that had not exited when the hub stopped."""
        for record in await self.store.list_sessions():
            if record.state != SessionState.EXITED:
                await self.get(record.id)

    async def get(self, session_id: str) -> LiveSession:
        """The live session (loaded from the store on first use), or NotFound."""
        live = self.live.get(session_id)
        if live is not None:
            return live
        async with self._load_lock:
            live = self.live.get(session_id)
            if live is None:
                live = await self._load(session_id)
                self.live[session_id] = live
            return live

    async def _load(self, session_id: str) -> LiveSession:
        record = await self.store.get_session(session_id)
        if record is None:
            raise NotFound(f"no session {session_id!r}", hint="list them with `tether sessions`")
        live = self._new(record)
        after = 0
        while events := await self.store.read_events(session_id, after, limit=_LOAD_PAGE):
            for event in events:
                live.tracker.apply(event.seq, json.loads(event.payload))
                live.remember(event.seq, stored_frame(event))
            after = events[-1].seq
        live.cursor = HubCursor(record.runner_id, durable=live.tracker.last_seq)
        return live

    def _new(self, record: SessionRecord) -> LiveSession:
        return LiveSession(
            record=record,
            tracker=SessionTracker(),
            recent=deque(maxlen=self.settings.recent_events),
            cursor=HubCursor(record.runner_id),
        )

    async def prune(self, before: float, *, dry_run: bool) -> Pruned:
        """Remove exited sessions last updated before `before` from the store (and from
        this hub's memory); one this hub serves as not exited, or is waking, stays,
        whatever its row says."""
        keep = [i for i, live in self.live.items() if live.tracker.state is not SessionState.EXITED]
        keep += self._waking  # asked to resume: its first new event is on its way
        pruned = await self.store.run_write(prune_exited(before, keep, dry_run=dry_run))
        if not dry_run:
            for session_id in pruned.sessions:
                self.live.pop(session_id, None)
                self._waking.pop(session_id, None)
        return pruned

    def of_runner(self, runner_id: str) -> list[LiveSession]:
        """The live sessions of a runner."""
        return [live for live in self.live.values() if live.record.runner_id == runner_id]

    # -- starting and steering ---------------------------------------------------------

    async def create(self, record: SessionRecord) -> LiveSession:
        """Store a new session and serve it (its runner is asked to start it elsewhere)."""
        await self.store.create_session(record)
        live = self.live[record.id] = self._new(record)
        return live

    async def start(
        self, team: str, principal: Principal, prompt: str | None = None, *, resume: str | None
    ) -> LiveSession:
        """Create a session of a team and ask its runner to start the agent."""
        entry = self.directory.team(team)
        if entry is None:
            raise NotFound(f"no team {team!r}", hint="list teams with `tether teams`")
        runner_id, info = entry
        if not await self.directory.connected_soon(runner_id):
            raise Conflict(
                f"the runner serving team {team!r} ({runner_id}) is not connected",
                hint="start it (`tether runner`) and try again",
            )
        if not info.available:
            # What the runner's probe found (a missing program or path, a host that does
            # not answer): a session id for a start that cannot happen only misleads.
            raise Conflict(
                f"team {team!r} is unavailable: {info.unavailable_reason or 'its probe failed'}",
                hint="fix it (`tether teams check` says more); the runner probes it again"
                " within 30 s, or at once when it restarts",
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
        live = await self.create(record)
        start = ControlStart(team=team, prompt=prompt, by=principal.label, resume=resume)
        await self.controls.send_control(runner_id, record.id, start)
        return live

    async def send_message(self, live: LiveSession, principal: Principal, text: str) -> bool:
        """Hand the agent a turn; a session that is asleep (see `SessionTracker.asleep`) is
        woken for it: resumed with its context, the message its first turn. True: woken."""
        if live.tracker.asleep and self._agent_session_id(live):
            await self.resume(live, principal, text)
            return True
        await self.control(live, ControlUserMessage(text=text, by=principal.label))
        return False

    def _agent_session_id(self, live: LiveSession) -> str | None:
        return live.tracker.agent_session_id or live.record.agent_session_id

    def _check_not_waking(self, live: LiveSession) -> None:
        asked = self._waking.get(live.id)
        if asked is None:
            return
        seq, at = asked
        if live.durable_seq == seq and time.monotonic() - at < _WAKE_GRACE_S:
            # Two starts of one session would race on the runner (two agent processes
            # for one log): refuse the second; nothing was accepted, nothing is lost.
            raise Conflict(
                f"session {live.id} is waking up (its agent is being resumed)",
                hint="send the message again in a moment, once it is running",
            )
        del self._waking[live.id]

    async def resume(self, live: LiveSession, principal: Principal, prompt: str | None) -> None:
        """Start the agent of an exited session again, continuing its agent session and its
        event log (the runner numbers new events after the durable seq: no gap)."""
        self._check_not_waking(live)
        if live.tracker.state is not SessionState.EXITED:
            raise Conflict(
                f"session {live.id} is still running ({live.tracker.state.value})",
                hint="send it a message instead, or stop it first",
            )
        agent_session_id = self._agent_session_id(live)
        if not agent_session_id:
            raise Conflict(
                f"session {live.id} never reported an agent session id, so it cannot be resumed",
                hint="start a new session of the team",
            )
        if not await self.directory.connected_soon(live.record.runner_id):
            raise Conflict(
                f"the runner of session {live.id} ({live.record.runner_id}) is not connected",
                hint="start it (`tether runner`) and try again",
            )
        start = ControlStart(
            team=live.record.team,
            prompt=prompt,
            by=principal.label,
            resume=agent_session_id,
            after_seq=live.durable_seq,
        )
        self._waking[live.id] = (live.durable_seq, time.monotonic())
        try:
            await self.controls.send_control(live.record.runner_id or "", live.id, start)
        except BaseException:
            del self._waking[live.id]
            raise

    def _exited_hint(self, live: LiveSession) -> str:
        if self._agent_session_id(live):
            return f"`tether resume {live.id}` continues it with its context"
        return "start a new session of the team"

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
        self._check_not_waking(live)
        if live.tracker.state is SessionState.EXITED:
            raise Conflict(f"session {live.id} has exited", hint=self._exited_hint(live))
        if not await self.directory.connected_soon(live.record.runner_id):
            raise Conflict(
                f"the runner of session {live.id} is not connected",
                hint="wait for it to reconnect, then try again",
            )
        await self.controls.send_control(live.record.runner_id or "", live.id, payload)
