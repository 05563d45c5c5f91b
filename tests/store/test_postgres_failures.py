"""The PostgreSQL store when its database goes away or turns read-only: every failure is a
StoreError (never a driver exception), nothing is half-written, and writes work again once
the database is back — without reopening the store."""

from __future__ import annotations

import asyncpg

from tests.support.pg import pg_database
from tether.errors import StoreError
from tether.store import StoredEvent
from tether.store.postgres import PostgresStore


def events(first: int, last: int) -> list[StoredEvent]:
    return [StoredEvent("s_1", s, float(s), "output", "{}") for s in range(first, last + 1)]


async def _terminate_others(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


async def _write_until_it_works(store: PostgresStore, batch: list[StoredEvent]) -> int:
    failures = 0
    for _ in range(5):
        try:
            await store.append_events(batch)
            return failures
        except StoreError:
            failures += 1
    raise AssertionError("writes never worked again")


async def test_terminated_connections_fail_cleanly_and_come_back() -> None:
    async with pg_database() as dsn:
        store = PostgresStore(dsn, min_size=2, max_size=2)
        await store.open()
        try:
            await store.append_events(events(1, 10))
            assert await _terminate_others(dsn) >= 1
            await _write_until_it_works(store, events(11, 20))
            assert [e.seq for e in await store.read_events("s_1", 0)] == list(range(1, 21))
        finally:
            await store.close()


async def test_a_read_only_database_refuses_writes_with_a_clear_error_then_recovers() -> None:
    async with pg_database() as dsn:
        store = PostgresStore(dsn, min_size=1, max_size=2)
        await store.open()
        name = dsn.rsplit("/", 1)[1]
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await store.append_events(events(1, 5))
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await _terminate_others(dsn)
            refused = 0
            for _ in range(3):
                try:
                    await store.append_events(events(6, 10))
                except StoreError as exc:
                    refused += 1
                    last = str(exc)
            assert refused == 3
            assert "read-only" in last or "failed" in last
            assert [e.seq for e in await store.read_events("s_1", 0)] == [1, 2, 3, 4, 5]
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await _terminate_others(dsn)
            await _write_until_it_works(store, events(6, 10))
            assert [e.seq for e in await store.read_events("s_1", 0)] == list(range(1, 11))
        finally:
            await admin.close()
            await store.close()
