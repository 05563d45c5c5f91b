"""Presence and fan-out: the viewers of each session, its owner slot, waking viewers when
there is something new, and the event frames a viewer has not seen yet.

Fan-out is pull-based: every viewer has a cursor and a wake-up flag; it reads what it
has not seen from the in-memory tail of the log, or from the store when it is further
behind — so a slow viewer never holds up the runner or anyone else.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.auth.principal import Principal
from tether.hub.live import LiveSession, Role, Viewer, stored_frame
from tether.hub.observers import Observers, SessionChange
from tether.hub.seams import OwnerClaim, OwnerSlots
from tether.protocol.codec import encode_frame
from tether.protocol.messages import Role as RoleFrame
from tether.protocol.messages import SessionInfo
from tether.store.base import Store
from tether.tasks import keep_task

log = logging.getLogger("tether.hub")


class LocalOwnerSlots:
    """`OwnerSlots` of one hub process; the holder is also written to the session's row."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._holders: dict[str, OwnerClaim] = {}
        self._background: set[asyncio.Task[None]] = set()

    def holder(self, session_id: str) -> OwnerClaim | None:
        """Who holds the slot."""
        return self._holders.get(session_id)

    async def acquire(self, session_id: str, claim: OwnerClaim) -> bool:
        """Take the slot if it is free."""
        current = self._holders.setdefault(session_id, claim)
        if current is not claim:
            return current == claim
        self._persist(session_id, claim.label)
        return True

    async def release(self, session_id: str, connection_id: str) -> bool:
        """Free the slot if `connection_id` holds it."""
        current = self._holders.get(session_id)
        if current is None or current.connection_id != connection_id:
            return False
        del self._holders[session_id]
        self._persist(session_id, None)
        return True

    def _persist(self, session_id: str, label: str | None) -> None:
        # Nothing waits for this write: the slot itself lives in memory.
        task = keep_task(self._background, self.store.update_session(session_id, owner=label))
        task.add_done_callback(_log_task_error)


@dataclass(eq=False)
class Presence:
    """The viewers of the sessions this hub serves (implements `Wakeups`)."""

    owners: OwnerSlots
    sessions: Mapping[str, LiveSession]
    store: Store
    observers: Observers

    async def join(self, live: LiveSession, viewer: Viewer, *, follow: bool) -> Role:
        """Add a viewer; it becomes owner if it asked to and the slot is free."""
        live.viewers[viewer.id] = viewer
        claim = OwnerClaim(viewer.id, viewer.principal.id, viewer.principal.label)
        wants = not follow and not viewer.principal.read_only
        viewer.role = "owner" if wants and await self.owners.acquire(live.id, claim) else "follower"
        return viewer.role

    async def take(
        self, live: LiveSession, viewer: Viewer | None, reason: str
    ) -> OwnerClaim | None:
        """Take the owner slot from whoever holds it (an explicit `--take`; the caller has
        checked that it may): the previous owner's connection is demoted to a follower
        and told why in a `role` frame, and stays connected. `viewer` None (an HTTP
        write): the slot is only freed. Returns the previous owner, if any."""
        previous = self.owners.holder(live.id)
        if previous is not None and (viewer is None or previous.connection_id != viewer.id):
            await self.owners.release(live.id, previous.connection_id)
            self.demote_stale_owners(live, None, reason)
        if viewer is not None:
            claim = OwnerClaim(viewer.id, viewer.principal.id, viewer.principal.label)
            taken = await self.owners.acquire(live.id, claim)
            viewer.role = "owner" if taken else "follower"
        return previous

    def demote_stale_owners(self, live: LiveSession, holder: str | None, reason: str) -> None:
        """Viewers here that act as owner but are not `holder` (the connection holding the
        slot now; None: nobody) become followers, told why in a `role` frame: the slot was
        taken, here or on another replica, so there is never a second owner."""
        frame = encode_frame("role", RoleFrame(role="follower", reason=reason), session=live.id)
        for other in live.viewers.values():
            if other.role == "owner" and other.id != holder:
                other.role = "follower"
                other.push_text(frame)

    async def leave(self, live: LiveSession, viewer: Viewer) -> bool:
        """Remove a viewer; an owner leaving frees the slot (followers are not promoted).
        True when it was the owner."""
        viewer.closed = True
        live.viewers.pop(viewer.id, None)
        return await self.owners.release(live.id, viewer.id)

    def owner(self, live: LiveSession) -> OwnerClaim | None:
        """Who owns the session now."""
        return self.owners.holder(live.id)

    def followers(self, live: LiveSession) -> int:
        """Viewers of the session on this hub that are not its owner."""
        owner = self.owners.holder(live.id)
        return sum(1 for v in live.viewers if owner is None or v != owner.connection_id)

    def may_write(self, live: LiveSession, principal: Principal) -> bool:
        """HTTP writes: allowed from the owner's principal, or when the owner slot is free."""
        if principal.read_only:
            return False
        owner = self.owners.holder(live.id)
        return owner is None or owner.principal_id == principal.id

    def announce(self, live: LiveSession, info: SessionInfo) -> None:
        """The session's presence changed: every viewer gets the new `session` frame."""
        update = encode_frame("session", info, session=live.id)
        for viewer in live.viewers.values():
            viewer.push_text(update)
        self.observers.publish(SessionChange(live.id))

    def wake(self, session_id: str) -> None:
        """Wake every viewer of the session on this hub."""
        live = self.sessions.get(session_id)
        if live is not None:
            for viewer in live.viewers.values():
                viewer.wake.set()

    async def frames_after(
        self, live: LiveSession, cursor: int, limit: int = 500
    ) -> list[tuple[int, str]]:
        """Event frames with seq > cursor: from memory if the tail covers them, else the store."""
        recent = live.recent
        if recent and recent[0][0] <= cursor + 1:
            # The tail holds consecutive seqs, so the cursor's position is arithmetic.
            start = cursor + 1 - recent[0][0]
            return list(itertools.islice(recent, start, start + limit))
        events = await self.store.read_events(live.id, cursor, limit)
        return [(e.seq, stored_frame(e)) for e in events if e.seq <= live.durable_seq]


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background store update failed: %s", task.exception())
