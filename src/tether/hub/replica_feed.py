"""Fan-out between replicas: a session whose runner is connected to another replica follows
the event table.

The replica holding the runner's socket ingests its events (hub/ingest.py); its append
notifies `tether_events` at commit. Every other replica serving that session reads the
table after the seq it has (the payload is only a hint: nothing depends on it arriving,
and a reconnect of the bus re-reads every session), applies what it read to the session
exactly as ingest does, and wakes its viewers — so they see the same events, in order,
with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from tether.cluster.bus import PgBus
from tether.errors import NotFound, StoreError
from tether.hub.live import LiveSession, stored_frame
from tether.hub.observers import Observers, SessionChange
from tether.hub.runners import RunnerDirectory
from tether.hub.seams import Wakeups
from tether.hub.sessions import SessionRegistry
from tether.store.base import Store, StoredEvent
from tether.store.postgres import EVENTS_CHANNEL
from tether.tasks import keep_task

log = logging.getLogger("tether.hub.cluster")

PAGE = 1000


@dataclass(eq=False)
class ReplicaFeed:
    """Keeps this replica's copy of sessions ingested elsewhere up to date."""

    store: Store
    bus: PgBus
    registry: SessionRegistry
    directory: RunnerDirectory
    wakeups: Wakeups
    observers: Observers
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False)
    _again: set[str] = field(default_factory=set, init=False)
    _background: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.bus.subscribe(EVENTS_CHANNEL, self._notified)
        self.bus.on_resync(self._everything)

    def ingested_here(self, live: LiveSession) -> bool:
        """Is the session's runner connected to this replica (its ingest is the writer)?"""
        return (live.record.runner_id or "") in self.directory.links

    def _notified(self, payload: str) -> None:
        session_id, _, seq = payload.rpartition(":")
        live = self.registry.live.get(session_id)
        if live is None or (seq.isdigit() and int(seq) <= live.durable_seq):
            return  # not served here (loaded fresh on first use), or nothing new
        if not self.ingested_here(live):
            self.follow(live)

    def _everything(self) -> None:
        for live in list(self.registry.live.values()):
            if not self.ingested_here(live):
                self.follow(live)

    def follow(self, live: LiveSession) -> None:
        """Read the session's new events from the table soon (one read at a time)."""
        lock = self._locks.setdefault(live.id, asyncio.Lock())
        if lock.locked():
            self._again.add(live.id)  # the running catch-up reads once more
            return
        task = keep_task(self._background, self.catch_up(live))
        task.add_done_callback(_log_failure)

    async def catch_up(self, live: LiveSession) -> int:
        """Apply every stored event after the session's durable seq; return how many."""
        lock = self._locks.setdefault(live.id, asyncio.Lock())
        applied = 0
        async with lock:
            while True:
                self._again.discard(live.id)
                try:
                    events = await self.store.read_events(live.id, live.durable_seq, PAGE)
                except StoreError as exc:
                    log.warning("cannot follow session %s yet: %s", live.id, exc)
                    return applied
                # The runner may have moved here during the read: its ingest writes now.
                if not events or self.ingested_here(live):
                    if live.id in self._again and not self.ingested_here(live):
                        continue
                    return applied
                applied += self._apply(live, events)
                if len(events) < PAGE and live.id not in self._again:
                    return applied

    async def catch_up_runner(self, session_ids: list[str], runner_id: str) -> None:
        """Before a runner's `welcome` here: every session it names, or had, is current, so
        the durable seqs it is told are the table's."""
        wanted = dict.fromkeys(session_ids)
        wanted.update(dict.fromkeys(live.id for live in self.registry.of_runner(runner_id)))
        for session_id in wanted:
            try:
                live = await self.registry.get(session_id)
            except NotFound:
                continue
            await self.catch_up(live)

    def _apply(self, live: LiveSession, events: list[StoredEvent]) -> int:
        tracker = live.tracker
        fresh: list[StoredEvent] = []
        for event in events:
            if event.seq != live.durable_seq + 1:
                break  # never a gap: the rest comes with the next read
            tracker.apply(event.seq, json.loads(event.payload))
            live.recent.append((event.seq, stored_frame(event)))
            live.cursor.durable = event.seq
            live.cursor.submitted = max(live.cursor.submitted, event.seq)
            fresh.append(event)
        if fresh:
            live.record.state = tracker.state.value
            live.record.exit_code = tracker.exit_code
            live.record.agent_session_id = tracker.agent_session_id
            self.wakeups.wake(live.id)
            self.observers.publish(SessionChange(live.id, tuple(fresh)))
        return len(fresh)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("following a session failed", exc_info=task.exception())
