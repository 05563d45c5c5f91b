"""LISTEN/NOTIFY between replicas: delivered, and resynced after the connection is killed."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.pg import pg_database
from tests.support.timing import scaled
from tether.cluster.bus import PgBus


async def test_a_notification_reaches_every_replica_and_survives_a_killed_connection() -> None:
    async with pg_database() as dsn:
        got: asyncio.Queue[str] = asyncio.Queue()
        resyncs: list[int] = []
        listener, sender = PgBus(dsn), PgBus(dsn)
        listener.subscribe("tether_test", got.put_nowait)
        listener.on_resync(lambda: resyncs.append(1))
        await listener.start()
        await sender.start()
        try:
            await sender.publish("tether_test", "s_1:7")
            assert await asyncio.wait_for(got.get(), scaled(5)) == "s_1:7"
            assert resyncs == [1]
            # An operator (or a failover) kills the listening backend.
            admin = await asyncpg.connect(dsn)
            try:
                pid = listener._conn.get_server_pid()
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            deadline = asyncio.get_running_loop().time() + scaled(20)
            while len(resyncs) < 2:
                assert asyncio.get_running_loop().time() < deadline, "the bus never came back"
                await asyncio.sleep(0.05)
            await sender.publish("tether_test", "s_1:8")
            assert await asyncio.wait_for(got.get(), scaled(5)) == "s_1:8"
        finally:
            await listener.stop()
            await sender.stop()


async def test_a_notification_inside_a_transaction_arrives_only_at_commit() -> None:
    async with pg_database() as dsn:
        got: asyncio.Queue[str] = asyncio.Queue()
        bus = PgBus(dsn)
        bus.subscribe("tether_test", got.put_nowait)
        await bus.start()
        conn = await asyncpg.connect(dsn)
        try:
            tx = conn.transaction()
            await tx.start()
            await bus.publish("tether_test", "rolled back", conn)
            await tx.rollback()
            async with conn.transaction():
                await bus.publish("tether_test", "committed", conn)
            assert await asyncio.wait_for(got.get(), scaled(5)) == "committed"
            assert got.empty()
        finally:
            await conn.close()
            await bus.stop()


async def test_appended_events_wake_every_replica_with_their_durable_seq() -> None:
    from tether.store import StoredEvent
    from tether.store.postgres import EVENTS_CHANNEL, PostgresStore

    async with pg_database() as dsn:
        store = PostgresStore(dsn)
        await store.open()
        got: asyncio.Queue[str] = asyncio.Queue()
        bus = PgBus(dsn)
        bus.subscribe(EVENTS_CHANNEL, got.put_nowait)
        await bus.start()
        try:
            await store.append_events(
                [
                    StoredEvent(sid, seq, 1.0, "output", "{}")
                    for sid in ("s_a", "s_b")
                    for seq in (1, 2, 3)
                ]
            )
            woken = {await asyncio.wait_for(got.get(), scaled(5)) for _ in range(2)}
            assert woken == {"s_a:3", "s_b:3"}
        finally:
            await bus.stop()
            await store.close()
