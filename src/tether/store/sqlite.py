"""SQLite (WAL) store: one writer thread fed by a queue, batching writes into transactions.

Datasette's pattern: a single writer owns the write connection, so writes never
contend; it drains whatever is queued into one transaction and commits, then wakes
every waiter, so many small appends cost one fsync. Readers use their own
connections in worker threads (WAL lets them run beside the writer).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tether.errors import StoreError
from tether.private import FILE_MODE, private_dir, tighten, touch_private
from tether.store import queries
from tether.store.base import StoredEvent
from tether.store.health import WriteHealth
from tether.store.migrations import MIGRATIONS, pending
from tether.store.sql import Op, run_sync

log = logging.getLogger("tether.store")

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]

_MAX_BATCH = 2000
_STOP = object()
# SQLite creates these beside the database with the database file's own mode; ones an
# older tether left 0644 keep theirs, so they are narrowed at open.
_SIDE_FILES = ("-wal", "-shm", "-journal")


class SqliteStore(queries.QueriedStore):
    """The default store: a SQLite file in WAL mode with synchronous=FULL (the schema of
    every package, auth's tables included, is in `tether.store.migrations`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._migrated = False
        self.health = WriteHealth(str(self.path))
        """Whether writes work now (a full disk refuses them): for /readyz."""

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Create the file if needed, migrate it, and start the writer thread.

        The directory is made 0700 and the database file 0600 before SQLite opens it, so
        the file, its WAL and its shared-memory index are private from the first byte.
        Opening an open store does nothing (the hub opens it before serving)."""
        if self._migrated:
            return
        try:
            private_dir(self.path.parent)
            touch_private(self.path)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store at {self.path}: {exc.strerror}",
                hint="check that the data dir is writable by this user",
            ) from None
        for suffix in _SIDE_FILES:
            tighten(Path(f"{self.path}{suffix}"), FILE_MODE)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        self._writer = threading.Thread(
            target=self._writer_main, args=(loop, ready), name="tether-store-writer", daemon=True
        )
        self._writer.start()
        await ready
        self._migrated = True

    async def close(self) -> None:
        """Finish queued writes, stop the writer, close every connection."""
        if self._closed or self._writer is None:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._writer.join)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    # -- primitives other packages build on ----------------------------------------------

    async def write(self, fn: WriteFn) -> Any:
        """Run `fn(conn)` in the writer thread inside a batched transaction; return its result
        once the transaction has committed (durable)."""
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.put((fn, fut, loop))
        return await fut

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on a read connection in a worker thread."""
        return await asyncio.to_thread(self._run_read, fn)

    async def run_write(self, op: Op[T]) -> T:
        """Run a database operation (`tether.store.sql`) in the writer's transaction."""
        result: T = await self.write(lambda conn: run_sync(op, conn))
        return result

    async def run_read(self, op: Op[T]) -> T:
        """Run a read-only database operation on a read connection."""
        return await self.read(lambda conn: run_sync(op, conn))

    async def ping(self) -> None:
        """Raise StoreError unless the database file answers and is fully migrated."""
        if self._closed or not self._migrated:
            raise StoreError("the store is not open (or still migrating)")
        version = await self.read(lambda conn: conn.execute("PRAGMA user_version").fetchone()[0])
        if version != len(MIGRATIONS):
            raise StoreError(f"the store at {self.path} is at schema version {version}")

    # -- events --------------------------------------------------------------------------

    async def append_events(self, events: list[StoredEvent]) -> None:
        """Append events; (session, seq) pairs already stored are ignored."""
        rows = [(e.session_id, e.seq, e.ts, e.kind, e.payload) for e in events]

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?)", rows)

        await self.write(insert)

    async def read_events(
        self, session_id: str, after: int, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of one session with seq > after, oldest first."""

        def select(conn: sqlite3.Connection) -> list[StoredEvent]:
            cur = conn.execute(
                "SELECT seq, ts, kind, payload FROM events WHERE session_id=? AND seq>? "
                "ORDER BY seq LIMIT ?",
                (session_id, after, limit),
            )
            return [StoredEvent(session_id, s, ts, k, p) for s, ts, k, p in cur.fetchall()]

        return await self.read(select)

    # -- threads -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the store at {self.path}: {exc}",
                hint="check that the data dir exists and is writable",
            ) from None
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"reading the store at {self.path} failed: {exc}") from None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        hint = "upgrade tether, or point --data-dir elsewhere"
        for number, script in pending(MIGRATIONS, version, where=str(self.path), hint=hint):
            log.info("migrating store to schema version %d", number)
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")

    def _writer_main(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        try:
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                log.warning("SQLite refused WAL mode (got %s); writes will be slower", mode)
            conn.execute("PRAGMA synchronous=FULL")
            self._migrate(conn)
        except (sqlite3.Error, StoreError) as exc:
            err = exc if isinstance(exc, StoreError) else StoreError(f"store setup failed: {exc}")
            loop.call_soon_threadsafe(_settle, ready, None, err)
            return
        loop.call_soon_threadsafe(_settle, ready, None, None)
        try:
            self._write_loop(conn)
        finally:
            conn.close()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(conn, batch)
            if stop:
                return

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        results = self._run_batch(conn, batch)
        refused = next((e for _v, e in results if isinstance(e, StoreError) and e.refused), None)
        if refused is None:
            self.health.took()
        else:
            self.health.refused(refused)
        # One wake-up of each waiting loop per batch, not one per write.
        settled: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for (_fn, fut, loop), (value, error) in zip(batch, results, strict=True):
            settled.setdefault(loop, []).append((fut, value, error))
        for loop, outcomes in settled.items():
            loop.call_soon_threadsafe(_settle_all, outcomes)

    def _run_batch(
        self, conn: sqlite3.Connection, batch: list[Any]
    ) -> list[tuple[Any, BaseException | None]]:
        """One transaction for the batch: each write's result or error (all fail if the
        commit does)."""
        results: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                # Alone in its transaction: its failure is the transaction's, no savepoint
                # needed (each statement is a GIL hand-off between this thread and the loop).
                results.append(self._one_write(conn, batch[0][0], rollback="ROLLBACK"))
            else:
                for fn, _fut, _loop in batch:
                    # A savepoint per write keeps one bad write from failing its neighbours.
                    conn.execute("SAVEPOINT w")
                    results.append(self._one_write(conn, fn, rollback="ROLLBACK TO w"))
                    conn.execute("RELEASE w")
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # Logged by `health` when it is the disk's doing (once per outage).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            err = _translate(exc, self.path)
            if not (isinstance(err, StoreError) and err.refused):
                log.error("store commit failed: %s", exc)
            results = [(None, err)] * len(batch)
        return results

    def _one_write(
        self, conn: sqlite3.Connection, fn: WriteFn, rollback: str
    ) -> tuple[Any, BaseException | None]:
        try:
            return fn(conn), None
        except Exception as exc:  # reported to that write's caller
            if conn.in_transaction:  # (SQLite may have rolled back on its own already)
                conn.execute(rollback)
            return None, _translate(exc, self.path)


_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


def _settle_all(outcomes: list[_Outcome]) -> None:
    for fut, value, error in outcomes:
        _settle(fut, value, error)


def _settle(fut: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


# Result codes (low byte of the extended code) that say the file or its disk refuses
# writes, not that the write was wrong: the store is unwell until one works again.
_REFUSING_CODES = {
    sqlite3.SQLITE_READONLY: "make the data dir writable",
    sqlite3.SQLITE_IOERR: "check the disk under the data dir",
    sqlite3.SQLITE_FULL: "free disk space under the data dir",
    sqlite3.SQLITE_CANTOPEN: "check that the data dir exists and is writable",
}


def _translate(exc: BaseException, path: Path) -> BaseException:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _REFUSING_CODES:
        hint = _REFUSING_CODES[code & 0xFF]
        return StoreError(
            f"the store at {path} could not be written: {exc}", hint=hint, refused=True
        )
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"store write failed: {exc}")
    return exc
