"""The conversation pool: one session per (caller, from_team, to_team), like Iris.

A conversation between two teams keeps its context because every
`send_message` from the same team to the same team goes to the same agent
session. A conversation answers "busy" while a turn runs (there is no queue);
one left idle for `idle_timeout` seconds is put to sleep (its agent process
stopped) by the service's sweeper, and stays in the pool: the next message resumes
the same session, so the agent keeps its context.

A turn holds its conversation from the moment it is claimed until the block of
`async with pool.turn(claim)` ends, whatever way it ends: the claim and the hold are
one step (no two callers can claim the same conversation), and the release is the end
of the block. The pool itself does no I/O; the claim (the service's) may.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from tether.errors import Conflict

# Shown as the sender when a caller does not say which team it speaks for.
NO_TEAM = ""


@dataclass(eq=False)
class Conversation:
    """One pooled session: who talks to whom, and whether a turn is in flight."""

    owner: str
    from_team: str
    to_team: str
    session_id: str
    last_used: float = field(default_factory=time.monotonic)
    asleep: bool = False
    """Its agent was stopped to save resources; the next turn resumes the same session."""
    open_turn_after: int | None = None
    """The seq after which a turn was sent whose end nobody has seen yet (quick_message,
    a send_message that timed out): the conversation counts as busy until it ends."""
    held: bool = False
    """A turn holds it (see `ConversationPool.turn`)."""

    @property
    def key(self) -> tuple[str, str, str]:
        """The pool key."""
        return (self.owner, self.from_team, self.to_team)

    def touch(self) -> None:
        """Mark as used now (resets the idle clock)."""
        self.last_used = time.monotonic()


@dataclass
class Claim:
    """What a claim found: the conversation to hold, and, when claiming already handed the
    turn over (a new session started with the message as its first prompt), the seq the
    turn follows."""

    conversation: Conversation
    after: int | None = None


class ConversationBusy(Conflict):
    """A claim returned a conversation another turn holds."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(
            f"session {conversation.session_id} is busy with another turn",
            hint="wait for it to finish, or stop it with session_cancel",
        )
        self.conversation = conversation


class ConversationPool:
    """Pooled sessions by (owner, from_team, to_team), and which sessions each owner started."""

    def __init__(self, idle_timeout: float | None = 1800.0) -> None:
        self.idle_timeout = idle_timeout
        self._by_key: dict[tuple[str, str, str], Conversation] = {}
        # Claims run one at a time: a claim awaits the hub (it may start a session), and
        # two first messages of one pair must not start two sessions.
        self._claiming = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self, claim: Callable[[], Awaitable[Claim]]) -> AsyncIterator[Claim]:
        """Hold the conversation `claim` picks (or creates with `add`) for one turn.

        `claim` runs alone, so what it sees is still true when the hold begins; it must
        refuse a conversation that is `held` (a busy one), else `ConversationBusy`.
        """
        async with self._claiming:
            claimed = await claim()
            conversation = claimed.conversation
            if conversation.held:
                raise ConversationBusy(conversation)
            conversation.held = True
        try:
            yield claimed
        finally:
            conversation.held = False
            conversation.touch()

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
            if not c.asleep and not c.held and now - c.last_used >= self.idle_timeout
        ]

    def __len__(self) -> int:
        return len(self._by_key)
