"""The conversation pool: one session per (caller, from_team, to_team), like Iris.

A conversation between two teams keeps its context because every
`send_message` from the same team to the same team goes to the same agent
session. A conversation answers "busy" while a turn runs (there is no queue);
one left idle for `idle_timeout` seconds is put to sleep (its agent process
stopped) by the service's sweeper, and stays in the pool: the next message resumes
the same session, so the agent keeps its context. The pool itself is plain
bookkeeping, no I/O.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

# Shown as the sender when a caller does not say which team it speaks for.
NO_TEAM = ""


@dataclass(eq=False)
class Conversation:
    """One pooled session: who talks to whom, and whether a turn is in flight."""

    owner: str
    from_team: str
    to_team: str
    session_id: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    asleep: bool = False
    """Its agent was stopped to save resources; the next turn resumes the same session."""
    open_turn_after: int | None = None
    """The seq after which a turn was sent whose end nobody has seen yet (quick_message,
    a send_message that timed out): the conversation counts as busy until it ends."""

    @property
    def key(self) -> tuple[str, str, str]:
        """The pool key."""
        return (self.owner, self.from_team, self.to_team)

    def touch(self) -> None:
        """Mark as used now (resets the idle clock)."""
        self.last_used = time.monotonic()


class ConversationPool:
    """Pooled sessions by (owner, from_team, to_team), and which sessions each owner started."""

    def __init__(self, idle_timeout: float | None = 1800.0) -> None:
        self.idle_timeout = idle_timeout
        self._by_key: dict[tuple[str, str, str], Conversation] = {}
        # Creating a conversation awaits the hub; this keeps two concurrent first
        # messages from starting two sessions for the same pair.
        self.create_lock = asyncio.Lock()

    def get(self, owner: str, from_team: str, to_team: str) -> Conversation | None:
        """The conversation of this pair, if there is one."""
        return self._by_key.get((owner, from_team, to_team))

    def add(self, owner: str, from_team: str, to_team: str, session_id: str) -> Conversation:
        """Pool a new session for this pair (replacing any older one)."""
        conversation = Conversation(owner, from_team, to_team, session_id)
        self._by_key[conversation.key] = conversation
        return conversation

    def drop(self, conversation: Conversation) -> None:
        """Forget a conversation (its session exited or was put to sleep)."""
        if self._by_key.get(conversation.key) is conversation:
            del self._by_key[conversation.key]

    def of_owner(self, owner: str) -> list[Conversation]:
        """Every conversation an owner has."""
        return [c for c in self._by_key.values() if c.owner == owner]

    def owns(self, owner: str, session_id: str) -> bool:
        """Did this owner start this session through the pool?"""
        return any(c.session_id == session_id for c in self.of_owner(owner))

    def idle(self, now: float | None = None) -> list[Conversation]:
        """Conversations unused for longer than the idle timeout and not in a turn."""
        if self.idle_timeout is None:
            return []
        now = time.monotonic() if now is None else now
        return [
            c
            for c in self._by_key.values()
            if not c.asleep and not c.lock.locked() and now - c.last_used >= self.idle_timeout
        ]

    def __len__(self) -> int:
        return len(self._by_key)
