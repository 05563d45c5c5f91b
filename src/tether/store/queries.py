"""The core store's operations (events, sessions, runners), written once for both engines.

See `tether.store.sql` for how an operation runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TypeVar, Unpack

from tether.store.base import (
    UPDATABLE_SESSION_FIELDS,
    RunnerRow,
    SessionChanges,
    SessionRecord,
    StoredEvent,
)
from tether.store.sql import ALL, MANY, ONE, Op, Query

T = TypeVar("T")

_SESSION_COLUMNS = (
    "id, team, agent, host, runner_id, state, owner, exit_code, agent_session_id,"
    " created_by, created_at, updated_at, last_seq"
)
_SESSION_SELECT = (
    "SELECT s.id, s.team, s.agent, s.host, s.runner_id, s.state, s.owner, s.exit_code,"
    " s.agent_session_id, s.created_by, s.created_at, s.updated_at,"
    " COALESCE((SELECT MAX(seq) FROM events e WHERE e.session_id = s.id), 0)"
    " FROM sessions s"
)


def append_events(events: list[StoredEvent]) -> Op[None]:
    """Append events; a (session, seq) already stored is ignored (first write wins)."""
    rows = [(e.session_id, e.seq, e.ts, e.kind, e.payload) for e in events]
    yield Query(
        "INSERT INTO events (session_id, seq, ts, kind, payload) VALUES (?,?,?,?,?)"
        " ON CONFLICT DO NOTHING",
        rows,
        MANY,
    )


def read_events(session_id: str, after: int, limit: int) -> Op[list[StoredEvent]]:
    """Events of one session with seq > after, oldest first."""
    rows = yield Query(
        "SELECT seq, ts, kind, payload FROM events WHERE session_id=? AND seq>?"
        " ORDER BY seq LIMIT ?",
        (session_id, after, limit),
        ALL,
    )
    return [StoredEvent(session_id, s, ts, k, p) for s, ts, k, p in rows]


def create_session(record: SessionRecord) -> Op[None]:
    """Insert a new session row."""
    yield Query(
        f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
        (
            record.id,
            record.team,
            record.agent,
            record.host,
            record.runner_id,
            record.state,
            record.owner,
            record.exit_code,
            record.agent_session_id,
            record.created_by,
            record.created_at,
            record.updated_at,
            record.last_seq,
        ),
    )


def update_session(session_id: str, changes: SessionChanges) -> Op[None]:
    """Change some of a session's fields (names checked against the updatable set)."""
    unknown = set(changes) - UPDATABLE_SESSION_FIELDS
    if unknown:
        raise ValueError(f"not updatable session fields: {sorted(unknown)}")
    fields: SessionChanges = {**changes}
    fields.setdefault("updated_at", time.time())
    # Column names come from the checked set above, never from input.
    assignments = ", ".join(f"{name}=?" for name in fields)
    yield Query(
        f"UPDATE sessions SET {assignments} WHERE id=?",  # noqa: S608
        (*fields.values(), session_id),
    )


def get_session(session_id: str) -> Op[SessionRecord | None]:
    """One session by id."""
    row = yield Query(f"{_SESSION_SELECT} WHERE s.id=?", (session_id,), ONE)
    return SessionRecord(*row) if row else None


def list_sessions() -> Op[list[SessionRecord]]:
    """Every session, newest first."""
    rows = yield Query(f"{_SESSION_SELECT} ORDER BY s.created_at DESC", (), ALL)
    return [SessionRecord(*r) for r in rows]


def save_runner(runner_id: str, version: str, teams: str, last_seen: float) -> Op[None]:
    """Insert or update a runner."""
    yield Query(
        "INSERT INTO runners (id, version, teams, last_seen) VALUES (?,?,?,?)"
        " ON CONFLICT(id) DO UPDATE SET version=excluded.version, teams=excluded.teams,"
        " last_seen=excluded.last_seen",
        (runner_id, version, teams, last_seen),
    )


def list_runners() -> Op[list[RunnerRow]]:
    """Every runner ever seen."""
    rows = yield Query("SELECT id, version, teams, last_seen FROM runners", (), ALL)
    return [RunnerRow(id=r[0], version=r[1], teams=r[2], last_seen=r[3]) for r in rows]


class QueriedStore(ABC):
    """The store methods that are the same query on every engine: a store supplies
    `run_write` and `run_read` (how an `Op` runs there) and inherits these."""

    @abstractmethod
    async def run_write(self, op: Op[T]) -> T:
        """Run `op` in a write transaction."""

    @abstractmethod
    async def run_read(self, op: Op[T]) -> T:
        """Run a read-only `op`."""

    async def create_session(self, record: SessionRecord) -> None:
        """Insert a new session row."""
        await self.run_write(create_session(record))

    async def update_session(self, session_id: str, **fields: Unpack[SessionChanges]) -> None:
        """Change some of a session's fields."""
        await self.run_write(update_session(session_id, fields))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """One session by id, or None."""
        return await self.run_read(get_session(session_id))

    async def list_sessions(self) -> list[SessionRecord]:
        """Every session, newest first."""
        return await self.run_read(list_sessions())

    async def save_runner(self, runner_id: str, version: str, teams: str, last_seen: float) -> None:
        """Insert or update a runner and the teams it serves (JSON text)."""
        await self.run_write(save_runner(runner_id, version, teams, last_seen))

    async def list_runners(self) -> list[RunnerRow]:
        """Every runner ever seen."""
        return await self.run_read(list_runners())
