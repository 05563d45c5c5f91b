"""PostgreSQL store (asyncpg): the state several hub replicas share.

Every operation runs in its own transaction on a pooled connection; the operations are
the same ones SQLite runs (`tether.store.queries`, `tether.store.sql`). Migrations are
applied under a PostgreSQL advisory lock, so replicas starting at once apply each exactly
once. Errors from the driver become `StoreError`s that say what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from tether.errors import StoreError
from tether.store import queries
from tether.store.base import StoredEvent
from tether.store.health import WriteHealth
from tether.store.migrations import pending
from tether.store.pg_migrations import PG_CLUSTER_MIGRATIONS, PG_MIGRATIONS
from tether.store.sql import Op, run_async

log = logging.getLogger("tether.store")

T = TypeVar("T")

MIGRATION_LOCK = 0x7E7E_0001
"""The advisory-lock key every replica takes while migrating (any constant of ours)."""

_CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError)

# SQLSTATE classes that say the database refuses (connection lost, out of disk or memory,
# an operator's shutdown or termination, read-only, a system error), not that this
# statement was wrong: writes fail until the database is put right.
_REFUSING_SQLSTATE_CLASSES = ("08", "53", "57", "58", "25")


def _refusing(exc: BaseException) -> bool:
    if isinstance(exc, (*_CONNECTION_ERRORS, TimeoutError)):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, asyncpg.PostgresError) and state[:2] in _REFUSING_SQLSTATE_CLASSES


def redacted(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


EVENTS_CHANNEL = "tether_events"  # also spelled out in _APPEND_AND_NOTIFY
"""Payload `session_id:seq`: the session's log is durable up to seq (a wake-up, not data)."""


# One statement, so one round trip and one implicit transaction: the rows go in from arrays,
# and the sessions that got new rows are notified at its commit.
_APPEND_AND_NOTIFY = """
WITH added AS (
    INSERT INTO events (session_id, seq, ts, kind, payload)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::text[], $5::text[])
    ON CONFLICT DO NOTHING
    RETURNING session_id, seq
)
SELECT pg_notify('tether_events', session_id || ':' || max(seq)) FROM added GROUP BY session_id
"""


class PostgresStore(queries.QueriedStore):
    """The scale-out store: `tether hub --store postgresql://USER@HOST:PORT/DB`."""

    def __init__(self, dsn: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._migrated = False
        self.health = WriteHealth(self.where)
        """Whether writes work now (the database may be gone or read-only): for /readyz."""

    @property
    def where(self) -> str:
        """The database, as shown to people (no password)."""
        return redacted(self.dsn)

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (a pool), and migrate the schema under the advisory lock (once: opening an
        open store does nothing)."""
        if self._migrated:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.min_size, max_size=self.max_size, command_timeout=30
            )
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreError(
                f"cannot connect to the PostgreSQL store at {self.where}: {exc}",
                hint="check that the server runs, the database exists and the user may connect",
            ) from None
        async with self._pool.acquire() as conn:
            await self._migrate(conn)
        self._migrated = True

    async def close(self) -> None:
        """Close every pooled connection."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _migrate(self, conn: Any) -> None:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await self._apply(conn, "tether_schema", PG_MIGRATIONS)
            await self._apply(conn, "tether_cluster_schema", PG_CLUSTER_MIGRATIONS)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def _apply(self, conn: Any, table: str, migrations: list[str]) -> None:
        # `table` is one of our two constant names, never input.
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER)")
        version = await conn.fetchval(f"SELECT max(version) FROM {table}") or 0  # noqa: S608
        hint = "upgrade tether on this replica"
        todo = pending(migrations, version, where=self.where, hint=hint, schema=table)
        for number, script in todo:
            log.info("migrating the PostgreSQL store: %s version %d", table, number)
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute(f"INSERT INTO {table} VALUES ($1)", number)  # noqa: S608

    # -- running operations --------------------------------------------------------------

    async def run_write(self, op: Op[T]) -> T:
        """Run an operation in a transaction; durable when it returns."""
        return await self._run(op, write=True)

    async def run_read(self, op: Op[T]) -> T:
        """Run a read-only operation."""
        return await self._run(op, write=False)

    async def _run(self, op: Op[T], *, write: bool) -> T:
        async with self._connection(write=write) as conn, conn.transaction():
            return await run_async(op, conn)

    async def _execute(self, sql: str, *args: Any) -> None:
        """One write statement outside any operation (its own implicit transaction)."""
        async with self._connection(write=True) as conn:
            await conn.execute(sql, *args)

    @contextlib.asynccontextmanager
    async def _connection(self, *, write: bool) -> AsyncIterator[Any]:
        """A pooled connection; the driver's errors come out as StoreErrors, and how a
        write went is noted in `health`."""
        if self._pool is None:
            raise StoreError("the store is closed")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except asyncpg.ReadOnlySQLTransactionError as exc:
            raise self._refused(
                StoreError(
                    f"the PostgreSQL store at {self.where} is read-only: {exc}",
                    hint="writes resume when the database accepts them again",
                    refused=True,
                )
            ) from None
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError) as exc:
            error = StoreError(
                f"the PostgreSQL store at {self.where} failed: {exc}", refused=_refusing(exc)
            )
            raise self._refused(error) if error.refused else error from None
        if write:
            self.health.took()

    def _refused(self, error: StoreError) -> StoreError:
        self.health.refused(error)
        return error

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled connection for work that is not one operation (the cluster sends a
        runner its queued controls inside the transaction that deletes them)."""
        async with self._connection(write=True) as conn:
            yield conn

    async def ping(self) -> None:
        """Raise StoreError unless the database answers now and would take a write (for
        /readyz); an answer that it would ends a refusal `health` noted."""
        if self._pool is None or not self._migrated:
            raise StoreError("the store is not open (or still migrating)")
        try:
            async with self._pool.acquire(timeout=2) as conn:
                read_only = await asyncio.wait_for(
                    conn.fetchval("SELECT current_setting('transaction_read_only')"), 2
                )
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreError(
                f"the PostgreSQL store at {self.where} does not answer: {exc}", refused=True
            ) from None
        if read_only == "on":
            raise StoreError(f"the PostgreSQL store at {self.where} is read-only", refused=True)
        self.health.took()

    # -- the Store protocol ------------------------------------------------------------

    async def append_events(self, events: list[StoredEvent]) -> None:
        """Append events (any sessions); a (session, seq) already stored is ignored.

        The same statement notifies `EVENTS_CHANNEL` with `session:last_seq` for each
        session that got new events, so replicas with viewers of it wake at the commit
        and read the table."""
        if not events:
            return
        columns = (
            [e.session_id for e in events],
            [e.seq for e in events],
            [e.ts for e in events],
            [e.kind for e in events],
            [e.payload for e in events],
        )
        await self._execute(_APPEND_AND_NOTIFY, *columns)

    async def read_events(
        self, session_id: str, after: int, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of a session with seq > after, in seq order, at most `limit`."""
        return await self.run_read(queries.read_events(session_id, after, limit))
