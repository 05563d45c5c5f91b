"""The shared rows that make replicas one hub: one runner connection, one owner, controls
that reach a runner on another replica, dead replicas cleared up after."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tether.cluster import controls, presence, replicas
from tether.cluster.presence import OwnerSlot, RunnerPlace
from tether.store.postgres import PostgresStore


def slot(viewer: str, replica: str = "A") -> OwnerSlot:
    return OwnerSlot(viewer_id=viewer, replica_id=replica, principal_id=f"d_{viewer}", label=viewer)


async def test_a_runner_has_one_connection_and_the_newest_wins(pg_store: PostgresStore) -> None:
    first = await pg_store.run_write(presence.claim_runner("r1", "A", "c1"))
    assert first is None
    second = await pg_store.run_write(presence.claim_runner("r1", "B", "c2"))
    assert second == RunnerPlace("A", "c1")
    # The old connection ending late must not erase the new one's presence.
    assert not await pg_store.run_write(presence.release_runner("r1", "c1"))
    assert await pg_store.run_read(presence.runner_place("r1")) == RunnerPlace("B", "c2")
    assert await pg_store.run_write(presence.release_runner("r1", "c2"))
    assert await pg_store.run_read(presence.runner_place("r1")) is None


async def test_the_owner_slot_is_one_slot_under_a_race(pg_store: PostgresStore) -> None:
    won = await asyncio.gather(
        *(
            pg_store.run_write(presence.acquire_owner("s_1", slot(f"v{i}", "AB"[i % 2])))
            for i in range(20)
        )
    )
    assert won.count(True) == 1
    owner = await pg_store.run_read(presence.owner_of("s_1"))
    assert owner is not None and owner.viewer_id == f"v{won.index(True)}"


async def test_take_over_hands_the_slot_and_the_old_owner_cannot_free_it(
    pg_store: PostgresStore,
) -> None:
    assert await pg_store.run_write(presence.acquire_owner("s_1", slot("laptop", "A")))
    previous = await pg_store.run_write(presence.take_over_owner("s_1", slot("phone", "B")))
    assert previous == slot("laptop", "A")
    assert not await pg_store.run_write(presence.release_owner("s_1", "laptop"))
    owner = await pg_store.run_read(presence.owner_of("s_1"))
    assert owner == slot("phone", "B")
    assert await pg_store.run_write(presence.release_owner("s_1", "phone"))
    assert await pg_store.run_write(presence.acquire_owner("s_1", slot("laptop")))


async def test_a_dead_replica_is_cleared_with_its_runners_and_owner_slots(
    pg_store: PostgresStore,
) -> None:
    alive = replicas.ReplicaRegistry(pg_store, "A", "http://a", heartbeat_s=0.05)
    await alive.start()
    await pg_store.run_write(replicas.register("B", "http://b"))
    await pg_store.run_write(presence.claim_runner("r_b", "B", "c1"))
    await pg_store.run_write(presence.acquire_owner("s_b", slot("v", "B")))
    await pg_store.run_write(presence.claim_runner("r_a", "A", "c2"))
    conn = await asyncpg.connect(pg_store.dsn)
    try:  # B stops heartbeating: its last beat is long ago
        await conn.execute("UPDATE replicas SET heartbeat_at = tether_now() - 100 WHERE id='B'")
    finally:
        await conn.close()
    for _ in range(100):
        if [r.id for r in await alive.replicas()] == ["A"]:
            break
        await asyncio.sleep(0.05)
    assert [r.id for r in await alive.replicas()] == ["A"]
    assert await pg_store.run_read(presence.runner_place("r_b")) is None
    assert await pg_store.run_read(presence.owner_of("s_b")) is None
    assert await pg_store.run_read(presence.runner_place("r_a")) == RunnerPlace("A", "c2")
    await alive.stop()
    assert await alive.replicas() == []
    assert await pg_store.run_read(presence.runner_place("r_a")) is None


async def test_controls_are_delivered_in_order_and_kept_when_sending_fails(
    pg_store: PostgresStore,
) -> None:
    for n in range(3):
        await pg_store.run_write(controls.post("r1", f"frame{n}"))
    await pg_store.run_write(controls.post("r2", "other"))
    conn = await asyncpg.connect(pg_store.dsn)
    try:

        async def broken(frames: list[str]) -> None:
            raise ConnectionError("runner socket closed mid-send")

        with pytest.raises(ConnectionError):
            await controls.deliver(conn, "r1", broken)
        assert await pg_store.run_read(controls.pending("r1")) == 3
        sent: list[str] = []

        async def send(frames: list[str]) -> None:
            sent.extend(frames)

        assert await controls.deliver(conn, "r1", send) == 3
        assert sent == ["frame0", "frame1", "frame2"]
        assert await pg_store.run_read(controls.pending("r1")) == 0
        assert await pg_store.run_read(controls.pending("r2")) == 1
    finally:
        await conn.close()


async def test_two_replicas_delivering_at_once_send_each_control_once(
    pg_store: PostgresStore,
) -> None:
    for n in range(400):
        await pg_store.run_write(controls.post("r1", str(n)))
    sent: list[str] = []

    async def send(frames: list[str]) -> None:
        await asyncio.sleep(0.01)
        sent.extend(frames)

    conns = [await asyncpg.connect(pg_store.dsn) for _ in range(2)]
    try:
        await asyncio.gather(*(controls.deliver(c, "r1", send) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sorted(sent, key=int) == [str(n) for n in range(400)]
