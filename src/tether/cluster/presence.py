"""Where each runner is connected, and who holds each session's owner slot — one row each,
shared by every replica, so there is one runner connection and one owner, cluster-wide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tether.store.sql import ALL, ONE, Op, Query

T = TypeVar("T")

RUNNER_CHANNEL = "tether_runner"
"""Payload `runner_id`: its connection moved; the replica holding an older one closes it."""
OWNER_CHANNEL = "tether_owner"
"""Payload `session_id`: its owner slot changed hands (a take-over demotes the old owner)."""


@dataclass(frozen=True, slots=True)
class RunnerPlace:
    """Where a runner's socket is."""

    replica_id: str
    connection_id: str


def claim_runner(
    runner_id: str, replica_id: str, connection_id: str, device_id: str | None = None
) -> Op[RunnerPlace | None]:
    """This connection (of the runner device `device_id`) now serves the runner; returns
    where the previous one was (if any)."""
    old = yield Query(
        "SELECT replica_id, connection_id FROM runner_presence WHERE runner_id=? FOR UPDATE",
        (runner_id,),
        ONE,
    )
    yield Query(
        "INSERT INTO runner_presence"
        " (runner_id, replica_id, connection_id, connected_at, device_id)"
        " VALUES (?, ?, ?, tether_now(), ?) ON CONFLICT (runner_id) DO UPDATE SET"
        " replica_id=excluded.replica_id, connection_id=excluded.connection_id,"
        " connected_at=excluded.connected_at, device_id=excluded.device_id",
        (runner_id, replica_id, connection_id, device_id),
    )
    yield Query("SELECT pg_notify(?, ?)", (RUNNER_CHANNEL, runner_id), ONE)
    return RunnerPlace(old[0], old[1]) if old else None


def release_runner(runner_id: str, connection_id: str) -> Op[bool]:
    """This connection ended; False if a newer one had already taken the runner over."""
    row = yield Query(
        "DELETE FROM runner_presence WHERE runner_id=? AND connection_id=? RETURNING runner_id",
        (runner_id, connection_id),
        ONE,
    )
    return row is not None


def runner_place(runner_id: str) -> Op[RunnerPlace | None]:
    """Where the runner is connected now, or None."""
    sql = "SELECT replica_id, connection_id FROM runner_presence WHERE runner_id=?"
    return (yield from _one_row(sql, runner_id, RunnerPlace))


@dataclass(frozen=True, slots=True)
class OwnerSlot:
    """Who owns a session now."""

    viewer_id: str
    replica_id: str
    principal_id: str
    label: str


def acquire_owner(session_id: str, slot: OwnerSlot) -> Op[bool]:
    """Take the owner slot if it is free; True if this viewer now owns the session."""
    row = yield Query(
        "INSERT INTO owner_slots (session_id, viewer_id, replica_id, principal_id, label, since)"
        " VALUES (?, ?, ?, ?, ?, tether_now())"
        " ON CONFLICT (session_id) DO NOTHING RETURNING viewer_id",
        (session_id, slot.viewer_id, slot.replica_id, slot.principal_id, slot.label),
        ONE,
    )
    if row is not None:
        yield Query("SELECT pg_notify(?, ?)", (OWNER_CHANNEL, session_id), ONE)
    return row is not None


def take_over_owner(session_id: str, slot: OwnerSlot) -> Op[OwnerSlot | None]:
    """Take the slot even if it is held (an explicit `--take`); return the previous owner."""
    old = yield Query(
        "SELECT viewer_id, replica_id, principal_id, label FROM owner_slots"
        " WHERE session_id=? FOR UPDATE",
        (session_id,),
        ONE,
    )
    yield Query(
        "INSERT INTO owner_slots (session_id, viewer_id, replica_id, principal_id, label, since)"
        " VALUES (?, ?, ?, ?, ?, tether_now()) ON CONFLICT (session_id) DO UPDATE SET"
        " viewer_id=excluded.viewer_id, replica_id=excluded.replica_id,"
        " principal_id=excluded.principal_id, label=excluded.label, since=excluded.since",
        (session_id, slot.viewer_id, slot.replica_id, slot.principal_id, slot.label),
    )
    yield Query("SELECT pg_notify(?, ?)", (OWNER_CHANNEL, session_id), ONE)
    return OwnerSlot(*old) if old else None


def release_owner(session_id: str, viewer_id: str) -> Op[bool]:
    """The owner left; False if it no longer held the slot."""
    row = yield Query(
        "DELETE FROM owner_slots WHERE session_id=? AND viewer_id=? RETURNING session_id",
        (session_id, viewer_id),
        ONE,
    )
    if row is not None:
        yield Query("SELECT pg_notify(?, ?)", (OWNER_CHANNEL, session_id), ONE)
    return row is not None


def owner_of(session_id: str) -> Op[OwnerSlot | None]:
    """The session's owner now, or None."""
    sql = "SELECT viewer_id, replica_id, principal_id, label FROM owner_slots WHERE session_id=?"
    return (yield from _one_row(sql, session_id, OwnerSlot))


def _one_row(sql: str, key: str, make: Callable[..., T]) -> Op[T | None]:
    """The one row `sql` selects for `key`, made into a `make`, or None."""
    row = yield Query(sql, (key,), ONE)
    return make(*row) if row else None


def runner_user(runner_id: str) -> Op[str | None]:
    """The user of the device connected as the runner now (None: not connected)."""
    row = yield Query(
        "SELECT d.user_id FROM runner_presence p JOIN devices d ON d.id = p.device_id"
        " WHERE p.runner_id=?",
        (runner_id,),
        ONE,
    )
    return str(row[0]) if row else None


def runner_places() -> Op[dict[str, RunnerPlace]]:
    """Where every connected runner is, cluster-wide."""
    rows = yield Query("SELECT runner_id, replica_id, connection_id FROM runner_presence", (), ALL)
    return {r[0]: RunnerPlace(r[1], r[2]) for r in rows}


def owners() -> Op[dict[str, OwnerSlot]]:
    """Every held owner slot, by session."""
    rows = yield Query(
        "SELECT session_id, viewer_id, replica_id, principal_id, label FROM owner_slots", (), ALL
    )
    return {r[0]: OwnerSlot(r[1], r[2], r[3], r[4]) for r in rows}
