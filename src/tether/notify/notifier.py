"""The notifier: follows each session's durable event log (not the sockets), turns what
matters into notifications for the session's user, and queues them for delivery.

It keeps a cursor per session. Events after the cursor are read from the store when the
hub says a session changed; what they call for (deliveries, requests to remind about,
requests answered) is committed in one transaction with the new cursor, so a restart
neither repeats a notification nor loses one. Batches with nothing of interest only move
the cursor in memory; it is written at shutdown, or once it is a thousand events ahead
(re-reading those after a crash produces nothing). Reminders and lost runners are looked
at every `tick_s` by the hub's clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence

from tether.notify import lost, rules
from tether.notify.contract import Notification
from tether.notify.db import NotifyDb
from tether.notify.delivery import Deliverer
from tether.notify.hubview import EventLog, HubView, SessionView
from tether.notify.prefs import Preferences
from tether.notify.records import NotifiedRequest, Sink, Step
from tether.notify.settings import NotifySettings
from tether.store.base import StoredEvent

log = logging.getLogger("tether.notify")

Clock = Callable[[], float]
INTERESTING = frozenset({"permission_request", "permission_decision", "turn_finished", "exited"})
PAGE = 500
CURSOR_LAG = 1000


class _Audience:
    """One user's sinks and preferences, for fanning a notification out."""

    def __init__(self, sinks: list[Sink], prefs: Preferences, team: str, now: float) -> None:
        self.sinks, self.prefs, self.team, self.now = sinks, prefs, team, now

    def deliveries(self, note: Notification) -> list[tuple[str, Notification]]:
        if self.prefs.quiet(self.now) or not self.prefs.wants(note.event, self.team, note.session):
            return []
        return [(s.id, note) for s in self.sinks if s.wants(note.event)]


class Notifier:
    """Watches the log; queues notifications; runs reminders and the lost-runner check."""

    def __init__(
        self,
        db: NotifyDb,
        events: EventLog,
        hub: HubView,
        deliverer: Deliverer,
        settings: NotifySettings,
        clock: Clock,
    ) -> None:
        self.db, self.events, self.hub, self.deliverer = db, events, hub, deliverer
        self.settings, self.clock = settings, clock
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._processing = False
        self._cursors: dict[str, int] = {}
        self._durable: dict[str, int] = {}
        self._lost_since: dict[str, float] = {}
        self._lost_told: set[str] = set()

    # -- being told -----------------------------------------------------------------------

    def changed(self, session_id: str) -> None:
        """The hub applied events of a session the notifier acts on: look soon (the batches
        before it that held nothing of interest are read with it)."""
        self._dirty.add(session_id)
        self._wake.set()

    async def run(self) -> None:
        """Catch up with what the log got while the hub was down, then follow it."""
        for session_id in await self.db.sessions_behind():
            self._dirty.add(session_id)
        while True:
            while self._dirty:
                session_id = self._dirty.pop()
                self._processing = True
                try:
                    await self.process(session_id)
                except Exception:  # one bad session must not stop the others
                    log.exception("notifier: session %s failed; it is looked at again", session_id)
                finally:
                    self._processing = False
            await self._wake.wait()
            self._wake.clear()

    async def tick_forever(self) -> None:
        """Reminders, lost runners, retries and cursors, every `tick_s`."""
        while True:
            await asyncio.sleep(self.settings.tick_s)
            try:
                await self.tick()
            except Exception:
                log.exception("notifier tick failed; trying again next tick")

    async def tick(self) -> None:
        """One round of the periodic checks."""
        await self.check_reminders()
        await self.check_lost()
        await self.save_cursors()
        await self.deliverer.poll()

    async def settled(self) -> None:
        """Until every change told so far is processed and sent (tests)."""
        while True:
            await asyncio.sleep(0)
            if not self._dirty and not self._processing:
                await self.deliverer.drain()
                if not self._dirty and not self._processing:
                    return
            await asyncio.sleep(0.01)

    # -- the log --------------------------------------------------------------------------

    async def process(self, session_id: str) -> None:
        """Deal with a session's events after the cursor, up to what the hub has applied."""
        cursor = self._cursors.get(session_id)
        if cursor is None:
            cursor = await self._reload_cursor(session_id)
        while True:
            view = await self.hub.session(session_id)
            if view is None or view.last_seq <= cursor:
                break
            batch = [
                e
                for e in await self.events.read_events(session_id, cursor, PAGE)
                if e.seq <= view.last_seq
            ]
            if not batch:
                break
            if any(e.kind in INTERESTING for e in batch):
                step = await self._step(view, batch)
                queued = await self.db.commit_step(step, self.clock())
                if queued is None:  # another replica dealt with some of these: go on after it
                    cursor = await self._reload_cursor(session_id)
                    continue
                self._durable[session_id] = step.cursor
                self.deliverer.hand_over(queued)
            cursor = self._cursors[session_id] = batch[-1].seq

    async def _reload_cursor(self, session_id: str) -> int:
        """The session's cursor as stored (first use, or another replica moved it)."""
        cursor = self._cursors[session_id] = self._durable[session_id] = await self.db.cursor(
            session_id
        )
        return cursor

    async def _audience(self, view: SessionView) -> tuple[str, _Audience] | None:
        if view.user_id is None:
            return None
        user = await self.hub.user(view.user_id)
        if user is None or user.disabled:
            return None
        sinks = await self.db.sinks_of(user.id)
        prefs = await self.db.prefs(user.id)
        return user.id, _Audience(sinks, prefs, view.team, self.clock())

    async def _step(self, view: SessionView, batch: Sequence[StoredEvent]) -> Step:
        session_id = view.id
        step = Step(session_id, self._durable.get(session_id, 0), batch[-1].seq, [], [], [])
        found = await self._audience(view)
        if found is None:
            return step
        user_id, audience = found
        facts = rules.SessionFacts(session_id, view.team)
        still_open = {r.request_id: r for r in await self.db.open_requests(session_id)}
        for event in batch:
            seq, ts = event.seq, event.ts
            payload = json.loads(event.payload)
            kind = payload.get("kind")
            if kind == "permission_request":
                note = rules.from_event(facts, seq, ts, payload)
                assert note is not None and note.request_id is not None
                if note.request_id not in view.pending or note.request_id in still_open:
                    continue  # answered before the notifier got to it, or told already
                # Reminders run on the hub's clock: the event's `ts` is the runner's, and a
                # runner whose clock is behind would have every request reminded at once.
                remind, seen = audience.prefs.reminder_s, audience.now
                request = NotifiedRequest(
                    session_id,
                    note.request_id,
                    user_id,
                    note,
                    seen,
                    seen + remind if remind else None,
                )
                still_open[note.request_id] = request
                step.opened.append(request)
                step.deliveries += audience.deliveries(note)
            elif kind == "permission_decision":
                told = still_open.pop(str(payload.get("request_id")), None)
                if told is None:
                    continue
                by = await self._answered_by(view, told.request_id, payload)
                step.closed.append(
                    (told.request_id, "withdrawn" if not by else f"answered by {by}")
                )
                step.deliveries += audience.deliveries(
                    rules.answered(told.notification, str(payload.get("behavior") or ""), by, ts)
                )
            elif kind in ("turn_finished", "exited"):
                why = "the turn ended" if kind == "turn_finished" else "the session ended"
                for told in still_open.values():
                    step.closed.append((told.request_id, "withdrawn"))
                    step.deliveries += audience.deliveries(
                        rules.withdrawn(told.notification, why, ts)
                    )
                still_open.clear()
                note = rules.from_event(facts, seq, ts, payload)
                if note is not None:
                    step.deliveries += audience.deliveries(note)
        return step

    async def _answered_by(
        self, view: SessionView, request_id: str, decision: dict[str, object]
    ) -> str:
        """`alice via ntfy`, `alice on Chrome on Android`, or the decision's `by`."""
        if decision.get("behavior") == "cancelled":
            return ""
        through_link = await self.db.answer_of(view.id, request_id)
        if through_link:
            return through_link
        by = str(decision.get("by") or "someone")
        if view.owner_device_id and view.owner_label == by:
            device = await self.hub.device_name(view.owner_device_id)
            if device:
                return f"{by} on {device}"
        return by

    async def save_cursors(self, min_lag: int = CURSOR_LAG) -> None:
        """Write cursors that moved at least `min_lag` events past uninteresting events (a
        restart re-reads at most that many, which produce nothing); all at shutdown."""
        moved = {s: c for s, c in self._cursors.items() if c - self._durable.get(s, 0) >= min_lag}
        for session_id, cursor in moved.items():
            start = self._durable.get(session_id, 0)
            step = Step(session_id, start, cursor, [], [], [])
            if await self.db.commit_step(step, self.clock()) is None:
                await self._reload_cursor(session_id)
            else:
                self._durable[session_id] = cursor

    # -- reminders and lost runners ---------------------------------------------------------

    async def check_reminders(self) -> None:
        """Queue the reminders that are due (postponed through the user's quiet hours; a
        request answered meanwhile gets none)."""
        now = self.clock()
        for request in await self.db.due_reminders(now):
            view = await self.hub.session(request.session_id)
            if view is None or request.request_id not in view.pending:
                continue  # answered: the log's decision closes it
            found = await self._audience(view)
            if found is None:
                continue
            _user, audience = found
            if audience.prefs.quiet(now):
                continue  # stays due; goes out when the quiet hours end
            note = rules.reminder(request.notification, now - request.created_at, now)
            queued = await self.db.remind(request, audience.deliveries(note), now)
            self.deliverer.hand_over(queued)

    async def check_lost(self) -> None:
        """Report sessions whose runner has been away for `lost_after_s` (once each time)."""
        now = self.clock()
        for session_id in self.hub.live_session_ids():
            view = await self.hub.session(session_id)
            if view is None or view.exited or view.runner_connected:
                self._lost_since.pop(session_id, None)
                if session_id in self._lost_told:
                    self._lost_told.discard(session_id)
                    if view is not None and view.runner_connected:
                        await lost.runner_back(self.db.store, session_id)
                continue
            since = self._lost_since.setdefault(session_id, now)
            if session_id in self._lost_told or now - since < self.settings.lost_after_s:
                continue
            self._lost_told.add(session_id)
            found = await self._audience(view)
            if found is not None:
                note = rules.lost(rules.SessionFacts(session_id, view.team), since, now)
                queued = await lost.tell_lost(
                    self.db.store, session_id, found[1].deliveries(note), now
                )
                self.deliverer.hand_over(queued)
