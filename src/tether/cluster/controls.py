"""Controls for a runner connected to another replica: a queue table, a NOTIFY to wake the
replica holding the runner, delivery at least once (each control carries an id the runner
deduplicates), and nothing lost when a replica dies (the runner's next replica sends what
is still queued).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tether.store.sql import ALL, ONE, Op, Query

CHANNEL = "tether_control"
"""Payload `runner_id`: a control waits for it."""
BATCH = 200

Send = Callable[[list[str]], Awaitable[None]]


def post(runner_id: str, frame: str) -> Op[int]:
    """Queue a control frame for a runner (and wake its replica); returns the queue id."""
    row = yield Query(
        "INSERT INTO controls (runner_id, frame, created_at)"
        " VALUES (?, ?, tether_now()) RETURNING id",
        (runner_id, frame),
        ONE,
    )
    yield Query("SELECT pg_notify(?, ?)", (CHANNEL, runner_id), ONE)
    return int(row[0])


def pending(runner_id: str) -> Op[int]:
    """How many controls wait for a runner."""
    row = yield Query("SELECT count(*) FROM controls WHERE runner_id=?", (runner_id,), ONE)
    return int(row[0])


async def deliver(conn: Any, runner_id: str, send: Send) -> int:
    """Send the runner what is queued for it, then delete it — in one transaction, so a
    replica that dies mid-way leaves the rows for the next one (a control may then arrive
    twice; the runner drops the repeat by its id). Returns how many were sent."""
    total = 0
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT id, frame FROM controls WHERE runner_id=$1 ORDER BY id"
                " LIMIT $2 FOR UPDATE SKIP LOCKED",
                runner_id,
                BATCH,
            )
            if not rows:
                return total
            await send([r["frame"] for r in rows])
            await conn.execute(
                "DELETE FROM controls WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        total += len(rows)


def expire(older_than_s: float) -> Op[list[tuple[str, int]]]:
    """Drop controls nobody picked up for a long time (their runner never came back)."""
    rows = yield Query(
        "DELETE FROM controls WHERE created_at < tether_now() - ? RETURNING runner_id, id",
        (older_than_s,),
        ALL,
    )
    return [(r[0], int(r[1])) for r in rows]
