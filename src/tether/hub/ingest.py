"""Durable ingest: a runner's events are queued per connection and written to the store
in batches; only after a batch is durable are its events applied, fanned out and acked.

What to write, what is new and what to ack is decided by `tether.protocol.delivery`;
this module moves the frames and writes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocketDisconnect

from tether.errors import NotFound, StoreError
from tether.hub.live import LiveSession, stored_frame
from tether.hub.observers import Observers, SessionChange
from tether.hub.runners import RunnerLink
from tether.hub.seams import Wakeups
from tether.hub.sessions import SessionRegistry
from tether.protocol.codec import Envelope, encode_frame, payload_json
from tether.protocol.delivery import HubCursor, Incoming
from tether.store.base import Store, StoredEvent
from tether.tasks import keep_task

log = logging.getLogger("tether.hub")


@dataclass(eq=False)
class _Inbox:
    pending: list[Envelope] = field(default_factory=list)
    flushing: bool = False


@dataclass(eq=False)
class Ingest:
    """Takes runners' events into the store, the sessions' state, and to their viewers."""

    store: Store
    sessions: SessionRegistry
    wakeups: Wakeups
    observers: Observers
    events_stored: int = field(default=0, init=False)
    """Since the hub started, for /metrics."""
    _inboxes: weakref.WeakKeyDictionary[RunnerLink, _Inbox] = field(
        default_factory=weakref.WeakKeyDictionary, init=False
    )
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def submit(self, link: RunnerLink, envelope: Envelope) -> None:
        """Queue an event (it has a session and a seq) for durable storage; ack and
        fan-out follow the write."""
        link.last_seen = time.time()
        inbox = self._inboxes.setdefault(link, _Inbox())
        inbox.pending.append(envelope)
        if not inbox.flushing:
            inbox.flushing = True
            keep_task(self._background, self._flush(link, inbox))

    async def _flush(self, link: RunnerLink, inbox: _Inbox) -> None:
        try:
            while inbox.pending:
                batch, inbox.pending = inbox.pending, []
                await self._take(link, batch)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            # The runner's socket went away mid-batch. What was stored stays stored; the
            # runner learns the durable seq from `welcome` when it reconnects, and resends.
            log.info("runner %s went away while its events were stored: %r", link.id, exc)
            inbox.pending.clear()
        finally:
            inbox.flushing = False

    async def _take(self, link: RunnerLink, batch: list[Envelope]) -> None:
        """One batch through the delivery rules: refuse, write, apply, ack, close."""
        incoming = [Incoming(env.session or "", env.seq or 0) for env in batch]
        cursors = await self._cursors(link, incoming)
        receiver, closed_before = link.receiver, link.receiver.closing
        plan = receiver.plan(incoming, cursors)
        for refusal in plan.refusals:
            await link.send_frame(encode_frame("error", refusal))
        stored = {i: _stored(batch[i]) for i in plan.accepted}
        if stored:
            try:
                await self.store.append_events(list(stored.values()))
            except StoreError as exc:
                # Nothing of the batch is acked; the runner keeps it and resends after it
                # reconnects. A store that refuses says so once (store/health.py), not here
                # for every batch.
                if not exc.refused:
                    log.error("could not store events from runner %s: %s", link.id, exc)
                closing = receiver.write_failed(plan, incoming, cursors)
                await link.close(closing.code, closing.reason)
                return
            self.events_stored += len(stored)
        written = receiver.written(plan, incoming, cursors)
        await self._apply([(stored[i], batch[i].payload) for i in written.new])
        for session_id, seq in written.acks:
            await link.send_frame(encode_frame("ack", session=session_id, seq=seq))
        if receiver.closing is not None and receiver.closing is not closed_before:
            log.warning("closing runner %s: %s", link.id, receiver.closing.reason)
            await link.close(receiver.closing.code, receiver.closing.reason)

    async def _cursors(self, link: RunnerLink, incoming: list[Incoming]) -> dict[str, HubCursor]:
        """The delivery state of each session the batch names that this hub has *and*
        that is this runner's: another runner's session is refused as unknown, so its
        log cannot be written to nor its existence learnt (issue #11, finding 2)."""
        cursors: dict[str, HubCursor] = {}
        for session_id in dict.fromkeys(event.session_id for event in incoming):
            with contextlib.suppress(NotFound):
                live = await self.sessions.get(session_id)
                if live.record.runner_id == link.id:
                    cursors[session_id] = live.cursor
        return cursors

    async def _apply(self, events: list[tuple[StoredEvent, dict[str, Any]]]) -> None:
        """Events new to the log (in seq order): into each session's state and recent
        frames; then its viewers and observers hear, and a changed state goes to its row."""
        touched: dict[str, LiveSession] = {}
        durable: dict[str, list[StoredEvent]] = {}
        for event, payload in events:
            live = self.sessions.live[event.session_id]
            tracker = live.tracker
            before = (tracker.state, tracker.exit_code, tracker.agent_session_id)
            tracker.apply(event.seq, payload)
            live.remember(event.seq, stored_frame(event))
            if before != (tracker.state, tracker.exit_code, tracker.agent_session_id):
                touched[live.id] = live
            durable.setdefault(live.id, []).append(event)
        for session_id, session_events in durable.items():
            self.wakeups.wake(session_id)
            self.observers.publish(SessionChange(session_id, tuple(session_events)))
        for live in touched.values():
            await self._save_state(live)

    async def _save_state(self, live: LiveSession) -> None:
        """The session's row follows its derived state. The row only caches what the
        events say (loading a session derives it again from them), so a store that
        refuses this write must not hold back the acks of events that are durable."""
        live.record.state = live.tracker.state.value
        live.record.exit_code = live.tracker.exit_code
        live.record.agent_session_id = live.tracker.agent_session_id
        try:
            await self.store.update_session(
                live.id,
                state=live.record.state,
                exit_code=live.record.exit_code,
                agent_session_id=live.record.agent_session_id,
            )
        except StoreError as exc:
            if not exc.refused:  # a refusing store says so once itself
                log.error("could not save the state of session %s: %s", live.id, exc)


def _stored(env: Envelope) -> StoredEvent:
    # The payload's text as the runner sent it is what is stored and what viewers get:
    # decoded once (for the state and the checks), never encoded again.
    kind = str(env.payload.get("kind", ""))
    return StoredEvent(env.session or "", env.seq or 0, env.ts, kind, payload_json(env))
