"""LISTEN/NOTIFY between hub replicas, on one dedicated connection that comes back by itself.

PostgreSQL delivers a notification to the listeners connected when it commits; one that
was disconnected meanwhile never gets it. So every subscriber is also told when the
connection came back (`on_resync`), and re-reads the tables it cares about: a missed
wake-up costs a little latency, never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from tether.backoff import Backoff
from tether.tasks import cancel_and_wait

log = logging.getLogger("tether.cluster")

Handler = Callable[[str], None]
"""Called with a notification's payload, on the event loop; must not block."""

KEEPALIVE_S = 5.0
"""How often the listening connection is checked (a dead one is replaced)."""


class PgBus:
    """Subscribe to channels, publish to them, survive the connection dropping."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._handlers: dict[str, list[Handler]] = {}
        self._resync: list[Callable[[], None]] = []
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Call `handler(payload)` for every notification on `channel` (set up before start)."""
        self._handlers.setdefault(channel, []).append(handler)

    def on_resync(self, callback: Callable[[], None]) -> None:
        """Call `callback()` whenever listening (re)starts: notifications may have been missed."""
        self._resync.append(callback)

    async def start(self) -> None:
        """Connect and listen; returns once listening (or raises if the first try fails)."""
        await self._listen()
        self._task = asyncio.create_task(self._supervise(), name="tether-pg-bus")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        await cancel_and_wait(self._task)
        self._task = None
        await self._close()

    async def publish(self, channel: str, payload: str, conn: Any = None) -> None:
        """NOTIFY `channel` (on `conn` — inside its transaction, delivered at its commit — or on
        the listening connection)."""
        target = conn if conn is not None else self._conn
        if target is None:
            raise ConnectionError("the replica bus is not connected")
        await target.execute("SELECT pg_notify($1, $2)", channel, payload)

    # -- the connection ------------------------------------------------------------------

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._lost.set())
        for channel in self._handlers:
            await conn.add_listener(channel, self._deliver)
        self._conn = conn
        self.connected.set()
        for callback in self._resync:
            callback()

    def _deliver(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:  # one bad subscriber must not silence the others
                log.exception("a replica-bus handler for %s failed", channel)

    async def _supervise(self) -> None:
        backoff = Backoff(base=0.2, cap=5.0)
        while True:
            await self._wait_lost()
            self.connected.clear()
            await self._close()
            log.warning("lost the PostgreSQL listening connection; reconnecting")
            while True:
                await asyncio.sleep(backoff.next_delay())
                try:
                    await self._listen()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
                    log.warning("replica bus: cannot reconnect yet: %s", e)
                    continue
                backoff.reset()
                log.info("replica bus listening again")
                break

    async def _wait_lost(self) -> None:
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), KEEPALIVE_S)
                return
            try:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), KEEPALIVE_S)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                return

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
