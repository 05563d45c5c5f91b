"""The owner slot of a hub replica: one row per session in `owner_slots`, so there is one
owner cluster-wide. Taking the slot is one INSERT … ON CONFLICT DO NOTHING; the row
decides, never this replica's copy, which only answers `holder()` (what `info` shows and
who may write over HTTP) and is refreshed on every NOTIFY and when the bus reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tether.cluster import replicas
from tether.cluster.bus import PgBus
from tether.cluster.presence import (
    OWNER_CHANNEL,
    OwnerSlot,
    acquire_owner,
    owner_of,
    owners,
    release_owner,
)
from tether.errors import StoreError
from tether.hub.seams import OwnerClaim
from tether.store.postgres import PostgresStore
from tether.tasks import keep_task

log = logging.getLogger("tether.hub.cluster")


def _claim(slot: OwnerSlot) -> OwnerClaim:
    return OwnerClaim(slot.viewer_id, slot.principal_id, slot.label)


class ReplicaOwnerSlots:
    """`OwnerSlots` across replicas (tether.hub.seams)."""

    def __init__(self, store: PostgresStore, bus: PgBus, replica_id: str) -> None:
        self.store = store
        self.replica_id = replica_id
        self.on_change: Callable[[str], None] = lambda _session_id: None
        """Called when a session's owner changed on another replica."""
        self._holders: dict[str, OwnerClaim] = {}
        self._refreshing = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        bus.subscribe(OWNER_CHANNEL, lambda session_id: self._spawn(self._refresh(session_id)))
        bus.subscribe(replicas.CHANNEL, lambda _ids: self._spawn(self.load()))
        bus.on_resync(lambda: self._spawn(self.load()))

    async def load(self) -> None:
        """Every held slot, from the table."""
        try:
            async with self._refreshing:
                rows = await self.store.run_read(owners())
                changed = set(rows) ^ set(self._holders)
                changed |= {s for s, slot in rows.items() if self._holders.get(s) != _claim(slot)}
                self._holders = {s: _claim(slot) for s, slot in rows.items()}
        except StoreError as exc:
            log.warning("could not read the owner slots: %s", exc)
            return
        for session_id in changed:
            self.on_change(session_id)

    def holder(self, session_id: str) -> OwnerClaim | None:
        """Who holds the slot, as this replica last read it."""
        return self._holders.get(session_id)

    async def acquire(self, session_id: str, claim: OwnerClaim) -> bool:
        """Take the slot if no viewer on any replica holds it."""
        slot = OwnerSlot(claim.connection_id, self.replica_id, claim.principal_id, claim.label)
        won = await self.store.run_write(acquire_owner(session_id, slot))
        if won:
            self._holders[session_id] = claim
            await self.store.update_session(session_id, owner=claim.label)
        else:
            await self._refresh(session_id)
        return won

    async def release(self, session_id: str, connection_id: str) -> bool:
        """Free the slot if `connection_id` holds it."""
        try:
            freed = await self.store.run_write(release_owner(session_id, connection_id))
        except StoreError as exc:
            # The row stays until this replica stops heartbeating or the store is back.
            log.warning("could not free the owner slot of %s: %s", session_id, exc)
            return False
        current = self._holders.get(session_id)
        if freed and current is not None and current.connection_id == connection_id:
            del self._holders[session_id]
        if freed:
            await self.store.update_session(session_id, owner=None)
        return freed

    async def _refresh(self, session_id: str) -> None:
        async with self._refreshing:
            slot = await self.store.run_read(owner_of(session_id))
            before = self._holders.get(session_id)
            if slot is None:
                self._holders.pop(session_id, None)
            else:
                self._holders[session_id] = _claim(slot)
        if before != self._holders.get(session_id):
            self.on_change(session_id)

    def _spawn(self, coro: Any) -> None:
        task = keep_task(self._background, coro)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("owner slot refresh failed: %s", task.exception())
