"""Which sessions the notifier has reported lost (store migration 7): every hub replica
looks for sessions whose runner is away, and the first to claim one tells its user; the
claim is dropped when the runner is back, so its next loss is news again."""

from __future__ import annotations

from tether.auth.db import SqlStore
from tether.notify.contract import Notification
from tether.notify.outbox import insert_deliveries
from tether.notify.records import Delivery
from tether.store.sql import ROWCOUNT, Op, Query


def _tell(
    session_id: str, deliveries: list[tuple[str, Notification]], now: float
) -> Op[list[Delivery]]:
    claimed = yield Query(
        "INSERT INTO notify_lost (session_id, told_at) VALUES (?,?) ON CONFLICT DO NOTHING",
        (session_id, now),
        ROWCOUNT,
    )
    return (yield from insert_deliveries(deliveries, now)) if claimed else []


def _forget(session_id: str) -> Op[None]:
    yield Query("DELETE FROM notify_lost WHERE session_id=?", (session_id,))


async def tell_lost(
    store: SqlStore, session_id: str, deliveries: list[tuple[str, Notification]], now: float
) -> list[Delivery]:
    """Queue a session's lost-runner notice, unless a replica told it since the runner was
    last back; returns what was queued."""
    return await store.run_write(_tell(session_id, deliveries, now))


async def runner_back(store: SqlStore, session_id: str) -> None:
    """The session's runner is back: its next loss is news again."""
    await store.run_write(_forget(session_id))
