"""The delivery queue (`notify_outbox`): deliveries queued, claimed for sending, and taken
off — each sent by one hub replica (docs/notifications.md, "Several hub replicas")."""

from __future__ import annotations

from collections.abc import Iterable

from tether.notify.contract import Notification
from tether.notify.records import Delivery
from tether.store.sql import ALL, MANY, ONE, Op, Query

LEASE_S = 120.0
"""How long a replica holds a queued delivery it is sending (the row's `next_at` moves
this far on): no other replica sends it meanwhile, and if this one dies before it is
done, any replica may send it after. Longer than a send (10 s) and its wait for the
sink's earlier deliveries."""


def insert_deliveries(
    deliveries: Iterable[tuple[str, Notification]], now: float
) -> Op[list[Delivery]]:
    """Queue deliveries, held by the caller (it hands them straight to its deliverer):
    other replicas' polls see them only if its lease runs out (`LEASE_S`)."""
    out = []
    for sink_id, note in deliveries:
        row = yield Query(
            "INSERT INTO notify_outbox (sink_id, notification, session_id, request_id,"
            " attempts, next_at, created_at) VALUES (?,?,?,?,0,?,?) RETURNING id",
            (sink_id, note.model_dump_json(), note.session, note.request_id, now + LEASE_S, now),
            ONE,
        )
        out.append(Delivery(int(row[0]), sink_id, note))
    return out


def claim_due(now: float, limit: int) -> Op[list[Delivery]]:
    # Locked (PostgreSQL: FOR UPDATE): a second replica's claim waits for this one, then
    # finds these rows no longer due. SQLite's single writer runs one claim at a time.
    rows = yield Query(
        "SELECT id, sink_id, notification, attempts FROM notify_outbox"
        " WHERE next_at <= ? ORDER BY next_at, id LIMIT ?",
        (now, limit),
        ALL,
        lock=True,
    )
    if rows:
        yield Query(
            "UPDATE notify_outbox SET next_at=? WHERE id=?",
            [(now + LEASE_S, r[0]) for r in rows],
            MANY,
        )
    return [Delivery(r[0], r[1], Notification.model_validate_json(r[2]), r[3]) for r in rows]


def delivered(item: Delivery, now: float, sent: bool) -> Op[None]:
    yield Query("DELETE FROM notify_outbox WHERE id=?", (item.id,))
    note = item.notification
    if sent and note.request_id is not None:
        yield Query(
            "INSERT INTO notify_sent (session_id, request_id, sink_id, sent_at)"
            " VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            (note.session, note.request_id, item.sink_id, now),
        )
