"""The `Store` contract every backend meets, and the records it deals in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypedDict, TypeVar, Unpack

from tether.store.health import WriteHealth
from tether.store.sql import Op

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event of a session's log; `payload` is the JSON text exactly as it was received."""

    session_id: str
    seq: int
    ts: float
    kind: str
    payload: str


@dataclass(slots=True)
class SessionRecord:
    """A session's durable metadata (its state is also derivable from its events)."""

    id: str
    team: str
    agent: str = ""
    host: str = "local"
    runner_id: str | None = None
    state: str = "starting"
    owner: str | None = None
    exit_code: int | None = None
    agent_session_id: str | None = None
    created_by: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    last_seq: int = 0


class SessionChanges(TypedDict, total=False):
    """The fields of a session's row that `update_session` may change (`updated_at` is
    now unless given)."""

    state: str
    owner: str | None
    exit_code: int | None
    agent_session_id: str | None
    runner_id: str | None
    updated_at: float
    agent: str
    host: str
    last_seq: int


UPDATABLE_SESSION_FIELDS: frozenset[str] = SessionChanges.__optional_keys__


class RunnerRow(TypedDict):
    """A runner as the store remembers it: `teams` is the JSON text of its `TeamInfo`s."""

    id: str
    version: str
    teams: str
    last_seen: float


class Store(Protocol):
    """What the hub needs from storage. Every write is durable when its awaitable returns."""

    health: WriteHealth
    """Whether writes work now; a store notes each write's outcome here."""

    async def open(self) -> None:
        """Open (creating and migrating if needed)."""

    async def run_write(self, op: Op[T]) -> T:
        """Run a database operation (`tether.store.sql`) in one transaction; durable on return."""

    async def run_read(self, op: Op[T]) -> T:
        """Run a read-only database operation."""

    async def close(self) -> None:
        """Flush pending writes and close."""

    async def ping(self) -> None:
        """Raise StoreError unless the store is open, migrated and answers now."""

    async def append_events(self, events: list[StoredEvent]) -> None:
        """Append events (any sessions); a (session, seq) already stored is ignored."""

    async def read_events(
        self, session_id: str, after: int, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of a session with seq > after, in seq order, at most `limit`."""

    async def create_session(self, record: SessionRecord) -> None:
        """Insert a new session."""

    async def update_session(self, session_id: str, **fields: Unpack[SessionChanges]) -> None:
        """Change some fields of a session (checked: see UPDATABLE_SESSION_FIELDS)."""

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """One session, or None."""

    async def list_sessions(self) -> list[SessionRecord]:
        """Every session, newest first."""

    async def save_runner(self, runner_id: str, version: str, teams: str, last_seen: float) -> None:
        """Record a runner and the teams it serves (JSON text)."""

    async def list_runners(self) -> list[RunnerRow]:
        """Every runner ever seen."""
