"""What the hub holds in memory for a session it serves, and for each viewer connection."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from tether.auth.principal import Principal
from tether.protocol.codec import Envelope, encode, event_frame
from tether.protocol.delivery import HubCursor
from tether.protocol.states import SessionTracker
from tether.store.base import SessionRecord, StoredEvent

Role = Literal["owner", "follower"]

RECENT_CHARS = 4 * 1024 * 1024
"""At most this many characters of event frames per session in memory (see `remember`)."""


@dataclass(eq=False)
class Viewer:
    """One viewer connection to one session."""

    id: str
    principal: Principal
    role: Role = "follower"
    cursor: int | None = None
    """The last seq sent to it; None until it sent `resume`."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    outgoing: deque[str] = field(default_factory=deque)
    """Frames other than events (ack, error, session update), sent before the next events."""
    closed: bool = False

    def push(self, envelope: Envelope) -> None:
        """Queue a non-event frame for this viewer."""
        self.push_text(encode(envelope))

    def push_text(self, frame: str) -> None:
        """Queue an encoded non-event frame for this viewer."""
        self.outgoing.append(frame)
        self.wake.set()

    async def queue_frame(self, frame: str) -> None:
        """`push_text` where a sender is awaited (the viewer's sender task owns its socket)."""
        self.push_text(frame)


@dataclass(eq=False)
class LiveSession:
    """A session the hub is serving: its record, derived state, delivery state, the tail
    of its log as viewer frames, and its viewers on this hub."""

    record: SessionRecord
    tracker: SessionTracker
    recent: deque[tuple[int, str]]
    """(seq, event frame) of the latest events, consecutive seqs."""
    cursor: HubCursor
    viewers: dict[str, Viewer] = field(default_factory=dict)
    recent_chars: int = 0
    """Characters held in `recent`: kept under `RECENT_CHARS` as well as its count."""

    def remember(self, seq: int, frame: str) -> None:
        """Keep an event's frame in the tail for live viewers. The tail is bounded by
        count (`recent`'s maxlen) and by size: a command's output comes in events of
        up to 64 KiB, and a few thousand of those are not for memory; older frames are
        read from the store."""
        recent = self.recent
        if recent.maxlen is not None and len(recent) >= recent.maxlen:
            self.recent_chars -= len(recent.popleft()[1])
        recent.append((seq, frame))
        self.recent_chars += len(frame)
        while self.recent_chars > RECENT_CHARS and len(recent) > 1:
            self.recent_chars -= len(recent.popleft()[1])

    @property
    def id(self) -> str:
        """The session id."""
        return self.record.id

    @property
    def durable_seq(self) -> int:
        """Highest seq stored (and applied)."""
        return self.cursor.durable


def stored_frame(event: StoredEvent) -> str:
    """The viewer frame of a stored event (its payload text is used as it is)."""
    return event_frame(event.session_id, event.seq, event.ts, event.payload)
