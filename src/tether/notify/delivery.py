"""The delivery queue's worker: takes queued notifications to their sinks without ever
holding up the hub.

Queued deliveries are durable (`notify_outbox`); the notifier also hands fresh ones over
in memory so they go out at once. Each sink gets its notifications one at a time, in
queue order (a request's `permission_answered` never overtakes the request); different
sinks are served in parallel up to `concurrency`. A failed send is retried with
jittered, doubling delays; a push subscription the push service calls gone (404/410) is
removed. Just before a send, the worker checks the notification still matters: a request
answered meanwhile is not announced, an answer goes only to sinks that got the request,
a push is not sent to the device whose visible tab owns the session, and a revoked
browser gets nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from tether.notify.db import NotifyDb
from tether.notify.hubview import HubView
from tether.notify.presence import Visibility
from tether.notify.records import Delivery, Sink
from tether.notify.sender import Attempt, Keys, Sender, build_request, finalize
from tether.notify.settings import NotifySettings
from tether.notify.sinks import Outcome
from tether.tasks import keep_task

log = logging.getLogger("tether.notify")

Clock = Callable[[], float]


class Deliverer:
    """Sends what the notifier queued."""

    def __init__(
        self,
        db: NotifyDb,
        hub: HubView,
        keys: Keys,
        settings: NotifySettings,
        clock: Clock,
        visibility: Visibility,
    ) -> None:
        self.db, self.hub, self.keys = db, hub, keys
        self.settings, self.clock, self.visibility = settings, clock, visibility
        self.sender = Sender(settings.send_timeout_s)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._sink_locks: dict[str, asyncio.Lock] = {}
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        """Deliveries sent since start (for tests and /metrics)."""

    def hand_over(self, items: list[Delivery]) -> None:
        """Fresh deliveries from the notifier: start them now (they are in the queue too)."""
        for item in items:
            self._start(item)

    async def poll(self) -> None:
        """Start every queued delivery that is due and not already under way (retries, and
        whatever a restart left in the queue)."""
        for item in await self.db.claim_due(self.clock()):
            self._start(item)

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: cancel sends under way (they stay queued for the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.sender.aclose()

    def _start(self, item: Delivery) -> None:
        if item.id in self._in_flight:
            return
        self._in_flight.add(item.id)
        # Tasks start in the order they are made and take their sink's lock first thing;
        # asyncio locks are first come, first served: one sink's queue keeps its order.
        lock = self._sink_locks.setdefault(item.sink_id, asyncio.Lock())
        waiter = keep_task(self._tasks, self._run(item, lock))
        waiter.add_done_callback(lambda _t: self._in_flight.discard(item.id))

    async def _run(self, item: Delivery, lock: asyncio.Lock) -> None:
        try:
            async with lock, self._slots:
                await self._deliver(item)
        except Exception:  # a bug here must not stop the worker; the item stays queued
            log.exception("delivery %d to sink %s failed", item.id, item.sink_id)

    async def _deliver(self, item: Delivery) -> None:
        sink = await self.db.sink(item.sink_id)
        if sink is None:
            await self.db.delivered(item, self.clock(), sent=False)
            return
        skip = await self._why_skip(item, sink)
        if skip is not None:
            log.debug("not sending delivery %d to %s: %s", item.id, sink.id, skip)
            await self.db.delivered(item, self.clock(), sent=False)
            return
        attempt = await self.attempt(item, sink)
        await self._settle(item, sink, attempt)

    async def attempt(self, item: Delivery, sink: Sink) -> Attempt:
        """Build and send one delivery now (also what `tether notify test` runs)."""
        now = self.clock()
        base = self.settings.public_url or sink.hub_url
        note = finalize(item.notification, sink, self.keys, base, now)
        try:
            request = build_request(sink, note, self.keys, item.id)
        except Exception as exc:  # a broken row (bad keys) must not block its sink's queue
            log.warning("cannot build a notification for sink %s: %s", sink.id, exc)
            return Attempt(Outcome.FAILED, f"cannot build the request: {exc}")
        return await self.sender.send(sink, request)

    async def _why_skip(self, item: Delivery, sink: Sink) -> str | None:
        note = item.notification
        if note.request_id is not None and note.event in (
            "permission_request",
            "permission_reminder",
        ):
            request = await self.db.request(note.session, note.request_id)
            if request is not None and request.closed_at is not None:
                return "the request was answered before it went out"
        if (
            note.event == "permission_answered"
            and note.request_id is not None
            and sink.id not in await self.db.sent_to(note.session, note.request_id)
        ):
            return "this sink never got the request"
        if sink.kind == "webpush" and sink.device_id is not None:
            if await self.hub.device_name(sink.device_id) is None:
                await self.db.remove_sink(sink.id)
                return "the browser's device was revoked; its subscription is removed"
            view = await self.hub.session(note.session)
            if (
                view is not None
                and view.owner_device_id == sink.device_id
                and self.visibility.showing(sink.device_id, note.session, self.clock())
            ):
                return "the session is on this device's screen"
        return None

    async def _settle(self, item: Delivery, sink: Sink, attempt: Attempt) -> None:
        now = self.clock()
        if attempt.outcome is Outcome.SENT:
            self.sent += 1
            await self.db.delivered(item, now, sent=True)
            if sink.failures:
                await self.db.note_outcome(sink.id, None)
            return
        log.info("delivery %d to sink %s: %s", item.id, sink.id, attempt.detail)
        if attempt.outcome is Outcome.GONE:
            await self.db.remove_sink(sink.id)
            return
        await self.db.note_outcome(sink.id, attempt.detail)
        if attempt.outcome is Outcome.RETRY and item.attempts + 1 < self.settings.max_attempts:
            delay = min(self.settings.retry_cap_s, self.settings.retry_base_s * 2**item.attempts)
            await self.db.retry_later(item, now + delay * random.uniform(0.5, 1.0))
            return
        await self.db.delivered(item, now, sent=False)
