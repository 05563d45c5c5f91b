"""Which hub replicas are alive: each one heartbeats its row; any one of them clears up after
a replica that stopped (its runners' presence and its viewers' owner slots), so a dead
replica never holds a runner or an owner slot for long.

Heartbeats use the database's clock, so replicas on machines whose clocks differ still
agree on who is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from tether.errors import ConfigError, StoreError
from tether.store.postgres import PostgresStore
from tether.store.sql import ALL, ONE, Op, Query
from tether.tasks import cancel_and_wait

log = logging.getLogger("tether.cluster")

HEARTBEAT_S = 1.0
DEAD_AFTER_S = 6.0
"""A replica whose heartbeat is this old is gone: another replica clears up after it."""
CHANNEL = "tether_replicas"


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    """One replica as the cluster sees it."""

    id: str
    url: str
    started_at: float
    heartbeat_age: float


def register(replica_id: str, url: str, key_check: str | None = None) -> Op[None]:
    """Insert (or refresh) this replica's row."""
    yield Query(
        "INSERT INTO replicas (id, url, started_at, heartbeat_at, key_check)"
        " VALUES (?, ?, tether_now(), tether_now(), ?)"
        " ON CONFLICT (id) DO UPDATE SET url=excluded.url, heartbeat_at=tether_now(),"
        " key_check=excluded.key_check",
        (replica_id, url, key_check),
    )


def key_mismatch(key_check: str, dead_after: float = DEAD_AFTER_S) -> Op[list[str]]:
    """Live replicas whose token-signing key differs from ours (another secrets file)."""
    rows = yield Query(
        "SELECT id FROM replicas WHERE key_check IS NOT NULL AND key_check <> ?"
        " AND heartbeat_at >= tether_now() - ?",
        (key_check, dead_after),
        ALL,
    )
    return [r[0] for r in rows]


def heartbeat(replica_id: str) -> Op[bool]:
    """Note this replica is alive; False if its row was cleared (it was taken for dead)."""
    row = yield Query(
        "UPDATE replicas SET heartbeat_at=tether_now() WHERE id=? RETURNING id", (replica_id,), ONE
    )
    return row is not None


def clear_dead(dead_after: float) -> Op[list[str]]:
    """Remove replicas silent for `dead_after` s, with their runners' presence and owner slots."""
    rows = yield Query(
        "DELETE FROM replicas WHERE heartbeat_at < tether_now() - ? RETURNING id",
        (dead_after,),
        ALL,
    )
    dead = [r[0] for r in rows]
    if dead:
        marks = ",".join("?" * len(dead))
        yield Query(f"DELETE FROM runner_presence WHERE replica_id IN ({marks})", dead)  # noqa: S608
        yield Query(f"DELETE FROM owner_slots WHERE replica_id IN ({marks})", dead)  # noqa: S608
        yield Query("SELECT pg_notify(?, ?)", (CHANNEL, ",".join(dead)), ONE)
    return dead


def unregister(replica_id: str) -> Op[None]:
    """A replica stopping cleanly gives up its row, runners and owner slots at once."""
    yield Query("DELETE FROM runner_presence WHERE replica_id=?", (replica_id,))
    yield Query("DELETE FROM owner_slots WHERE replica_id=?", (replica_id,))
    yield Query("DELETE FROM replicas WHERE id=?", (replica_id,))
    yield Query("SELECT pg_notify(?, ?)", (CHANNEL, replica_id), ONE)


def alive() -> Op[list[ReplicaInfo]]:
    """Every replica with a row, oldest first."""
    rows = yield Query(
        "SELECT id, url, started_at, tether_now() - heartbeat_at FROM replicas ORDER BY started_at",
        (),
        ALL,
    )
    return [ReplicaInfo(r[0], r[1], r[2], r[3]) for r in rows]


@dataclass(eq=False)
class ReplicaRegistry:
    """Keeps this replica's heartbeat and clears up after dead ones."""

    store: PostgresStore
    replica_id: str
    url: str
    _: KW_ONLY
    heartbeat_s: float = HEARTBEAT_S
    dead_after_s: float = DEAD_AFTER_S
    on_evicted: Callable[[], None] | None = None
    """Called if this replica finds itself taken for dead (it lost the database too long)."""
    key_check: str | None = None
    """A check value of the token-signing key (never the key): replicas must agree."""
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def refuse_other_keys(self) -> None:
        """Raise ConfigError if live replicas sign tokens with another key (they would
        reject every token this one mints)."""
        if self.key_check is None:
            return
        others = await self.store.run_read(key_mismatch(self.key_check, self.dead_after_s))
        if others:
            raise ConfigError(
                f"this hub's secrets file differs from the one replicas {', '.join(others)}"
                " use: tokens minted here would be refused there",
                hint="give every replica the same file (TETHER_SECRETS_FILE=…); see"
                " docs/operations.md, 'Replicas on PostgreSQL'",
            )

    async def start(self) -> None:
        """Register, and heartbeat until stopped; refuse to join replicas that sign tokens
        with another key."""
        await self.refuse_other_keys()
        await self.store.run_write(register(self.replica_id, self.url, self.key_check))
        self._task = asyncio.create_task(self._beat(), name="tether-replica-heartbeat")

    async def stop(self) -> None:
        """Stop heartbeating and leave the cluster cleanly."""
        await cancel_and_wait(self._task)
        self._task = None
        with contextlib.suppress(StoreError):
            await self.store.run_write(unregister(self.replica_id))

    async def replicas(self) -> list[ReplicaInfo]:
        """The replicas alive now."""
        return await self.store.run_read(alive())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                if not await self.store.run_write(heartbeat(self.replica_id)):
                    log.warning("this replica was taken for dead; registering again")
                    await self.store.run_write(register(self.replica_id, self.url, self.key_check))
                    if self.on_evicted is not None:
                        self.on_evicted()
                dead = await self.store.run_write(clear_dead(self.dead_after_s))
                if dead:
                    log.warning("replicas %s stopped heartbeating; cleared up after them", dead)
            except StoreError as exc:
                log.warning("replica heartbeat failed: %s", exc)
