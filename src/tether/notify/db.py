"""The notification tables (store migration 5), through the store: every method runs one
operation (`tether.store.sql`) — one transaction — on SQLite or PostgreSQL alike, so a
multi-row change commits whole or not at all."""

from __future__ import annotations

import json
from typing import Any

from tether.auth.db import SqlStore
from tether.notify.contract import Notification
from tether.notify.outbox import claim_due, delivered, insert_deliveries
from tether.notify.prefs import Preferences
from tether.notify.records import Delivery, NotifiedRequest, Sink, Step
from tether.store.sql import ALL, ONE, ROWCOUNT, Op, Query

__all__ = ["NotifyDb", "SqlStore"]

_SINK_COLS = (
    "id, user_id, kind, url, hub_url, created_at, device_id, events, sealed, trusted,"
    " failures, last_error"
)
_SINK_SELECT = f"SELECT {_SINK_COLS} FROM notify_sinks"  # noqa: S608 (constant columns)
_SINK_INSERT = f"INSERT INTO notify_sinks ({_SINK_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,0,NULL)"  # noqa: S608
_REQUEST_SELECT = (
    "SELECT session_id, request_id, user_id, notification, created_at, remind_at,"
    " reminded_at, closed_at, closed_how FROM notify_requests"
)


def _sink(row: tuple[Any, ...]) -> Sink:
    return Sink(
        id=row[0],
        user_id=row[1],
        kind=row[2],
        url=row[3],
        hub_url=row[4],
        created_at=row[5],
        device_id=row[6],
        events=tuple(json.loads(row[7])) if row[7] is not None else None,
        sealed=row[8],
        trusted=bool(row[9]),
        failures=row[10],
        last_error=row[11],
    )


def _request(row: tuple[Any, ...]) -> NotifiedRequest:
    return NotifiedRequest(
        row[0], row[1], row[2], Notification.model_validate_json(row[3]), *row[4:]
    )


def _select(sql: str, params: tuple[Any, ...] = ()) -> Op[list[tuple[Any, ...]]]:
    rows: list[tuple[Any, ...]] = yield Query(sql, params, ALL)
    return rows


def _write(sql: str, params: tuple[Any, ...] = ()) -> Op[int]:
    count: int = yield Query(sql, params, ROWCOUNT)
    return count


def _add_sink(sink: Sink) -> Op[None]:
    if sink.device_id is not None:
        yield Query("DELETE FROM notify_sinks WHERE device_id=?", (sink.device_id,))
    if sink.kind == "webpush":
        yield Query("DELETE FROM notify_sinks WHERE kind='webpush' AND url=?", (sink.url,))
    events = json.dumps(list(sink.events)) if sink.events is not None else None
    yield Query(
        _SINK_INSERT,
        (
            sink.id,
            sink.user_id,
            sink.kind,
            sink.url,
            sink.hub_url,
            sink.created_at,
            sink.device_id,
            events,
            sink.sealed,
            int(sink.trusted),
        ),
    )


def _remove_sink(sink_id: str, user_id: str | None) -> Op[bool]:
    if user_id:
        gone = yield Query(
            "DELETE FROM notify_sinks WHERE id=? AND user_id=?", (sink_id, user_id), ROWCOUNT
        )
    else:
        gone = yield Query("DELETE FROM notify_sinks WHERE id=?", (sink_id,), ROWCOUNT)
    if gone:
        yield Query("DELETE FROM notify_outbox WHERE sink_id=?", (sink_id,))
    return bool(gone)


def _commit_step(step: Step, now: float) -> Op[list[Delivery] | None]:
    if not (yield from _claim_range(step)):
        return None
    for req in step.opened:
        yield Query(
            "INSERT INTO notify_requests (session_id, request_id, user_id, notification,"
            " created_at, remind_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (
                req.session_id,
                req.request_id,
                req.user_id,
                req.notification.model_dump_json(),
                req.created_at,
                req.remind_at,
            ),
        )
    for request_id, how in step.closed:
        yield Query(
            "UPDATE notify_requests SET closed_at=?, closed_how=?"
            " WHERE session_id=? AND request_id=? AND closed_at IS NULL",
            (now, how, step.session_id, request_id),
        )
    return (yield from insert_deliveries(step.deliveries, now))


def _claim_range(step: Step) -> Op[bool]:
    """Move the cursor from `step.start` to `step.cursor`, if nobody has moved it since."""
    moved = yield Query(
        "UPDATE notify_cursors SET seq=? WHERE session_id=? AND seq=?",
        (step.cursor, step.session_id, step.start),
        ROWCOUNT,
    )
    if not moved and step.start == 0:  # the session's first step: no row yet
        moved = yield Query(
            "INSERT INTO notify_cursors (session_id, seq) VALUES (?,?)"
            " ON CONFLICT (session_id) DO NOTHING",
            (step.session_id, step.cursor),
            ROWCOUNT,
        )
    return bool(moved)


def _remind(
    req: NotifiedRequest, deliveries: list[tuple[str, Notification]], now: float
) -> Op[list[Delivery]]:
    claimed = yield Query(
        "UPDATE notify_requests SET reminded_at=?"
        " WHERE session_id=? AND request_id=? AND reminded_at IS NULL",
        (now, req.session_id, req.request_id),
        ROWCOUNT,
    )
    if not claimed:  # another hub replica reminded first
        return []
    return (yield from insert_deliveries(deliveries, now))


def _claim_answer(values: tuple[str, str, str, str, str, str, float]) -> Op[bool]:
    row = yield Query(
        "INSERT INTO notify_answers (session_id, request_id, behavior, sink_id, answered_by,"
        " address, answered_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
        " RETURNING request_id",
        values,
        ONE,
    )
    return row is not None


class NotifyDb:
    """Sinks, preferences, cursors, the delivery queue, notified requests, answers."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- sinks ---------------------------------------------------------------------------

    async def add_sink(self, sink: Sink) -> None:
        """Add a sink; a browser's new push subscription replaces its old one."""
        await self.store.run_write(_add_sink(sink))

    async def sinks_of(self, user_id: str) -> list[Sink]:
        """A user's sinks, oldest first."""
        rows = await self.store.run_read(
            _select(f"{_SINK_SELECT} WHERE user_id=? ORDER BY created_at, id", (user_id,))
        )
        return [_sink(r) for r in rows]

    async def sink(self, sink_id: str) -> Sink | None:
        """One sink."""
        rows = await self.store.run_read(_select(f"{_SINK_SELECT} WHERE id=?", (sink_id,)))
        return _sink(rows[0]) if rows else None

    async def remove_sink(self, sink_id: str, user_id: str | None = None) -> bool:
        """Remove a sink (of `user_id`, when given) and what is queued for it."""
        return await self.store.run_write(_remove_sink(sink_id, user_id))

    async def note_outcome(self, sink_id: str, error: str | None) -> None:
        """Count a failed delivery (with its error), or clear the count after a success."""
        if error is None:
            op = _write(
                "UPDATE notify_sinks SET failures=0, last_error=NULL WHERE id=?", (sink_id,)
            )
        else:
            op = _write(
                "UPDATE notify_sinks SET failures=failures+1, last_error=? WHERE id=?",
                (error[:300], sink_id),
            )
        await self.store.run_write(op)

    # -- preferences ---------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Preferences:
        """A user's preferences (the defaults until they save some)."""
        rows = await self.store.run_read(
            _select("SELECT prefs FROM notify_prefs WHERE user_id=?", (user_id,))
        )
        return Preferences.model_validate_json(rows[0][0]) if rows else Preferences()

    async def save_prefs(self, user_id: str, prefs: Preferences) -> None:
        """Replace a user's preferences."""
        await self.store.run_write(
            _write(
                "INSERT INTO notify_prefs (user_id, prefs) VALUES (?,?)"
                " ON CONFLICT(user_id) DO UPDATE SET prefs=excluded.prefs",
                (user_id, prefs.model_dump_json()),
            )
        )

    # -- the event log cursor ----------------------------------------------------------

    async def cursor(self, session_id: str) -> int:
        """The last seq of a session the notifier has dealt with (0: none yet)."""
        rows = await self.store.run_read(
            _select("SELECT seq FROM notify_cursors WHERE session_id=?", (session_id,))
        )
        return int(rows[0][0]) if rows else 0

    async def sessions_behind(self) -> list[str]:
        """Sessions whose log has events the notifier has not dealt with (after a restart)."""
        rows = await self.store.run_read(
            _select(
                "SELECT e.session_id FROM events e LEFT JOIN notify_cursors n"
                " ON n.session_id = e.session_id GROUP BY e.session_id"
                " HAVING MAX(e.seq) > COALESCE(MAX(n.seq), 0)"
            )
        )
        return [r[0] for r in rows]

    async def commit_step(self, step: Step, now: float) -> list[Delivery] | None:
        """Queue a step's deliveries, open and close its requests, and move the cursor —
        all in one transaction; returns the queued deliveries, or None (and does nothing)
        when the stored cursor is no longer `step.start`."""
        return await self.store.run_write(_commit_step(step, now))

    # -- the delivery queue ------------------------------------------------------------

    async def claim_due(self, now: float, limit: int = 100) -> list[Delivery]:
        """Queued deliveries whose time has come, oldest first, each now held by the caller
        for `LEASE_S` (so two replicas polling at once never both send one)."""
        # Polled every second: a read first keeps the usual empty queue off the writer.
        if not await self.store.run_read(
            _select("SELECT 1 FROM notify_outbox WHERE next_at <= ? LIMIT 1", (now,))
        ):
            return []
        return await self.store.run_write(claim_due(now, limit))

    async def release_held(self, now: float) -> None:
        """Make every queued delivery due now (a hub with no replicas, starting: the holds
        and retry times in the queue are its own last run's)."""
        await self.store.run_write(
            _write("UPDATE notify_outbox SET next_at=? WHERE next_at > ?", (now, now))
        )

    async def delivered(self, item: Delivery, now: float, *, sent: bool) -> None:
        """Take a delivery off the queue; when `sent` and it is about a request, remember
        that this sink got that request (it will hear how it was answered)."""
        await self.store.run_write(delivered(item, now, sent))

    async def retry_later(self, item: Delivery, next_at: float) -> None:
        """Try a delivery again at `next_at`."""
        await self.store.run_write(
            _write(
                "UPDATE notify_outbox SET attempts=attempts+1, next_at=? WHERE id=?",
                (next_at, item.id),
            )
        )

    async def sent_to(self, session_id: str, request_id: str) -> list[str]:
        """The sinks that got a request."""
        rows = await self.store.run_read(
            _select(
                "SELECT sink_id FROM notify_sent WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            )
        )
        return [r[0] for r in rows]

    # -- notified requests ---------------------------------------------------------------

    async def request(self, session_id: str, request_id: str) -> NotifiedRequest | None:
        """A notified request."""
        rows = await self.store.run_read(
            _select(
                f"{_REQUEST_SELECT} WHERE session_id=? AND request_id=?", (session_id, request_id)
            )
        )
        return _request(rows[0]) if rows else None

    async def open_requests(self, session_id: str) -> list[NotifiedRequest]:
        """A session's notified requests still waiting for an answer."""
        rows = await self.store.run_read(
            _select(f"{_REQUEST_SELECT} WHERE session_id=? AND closed_at IS NULL", (session_id,))
        )
        return [_request(r) for r in rows]

    async def due_reminders(self, now: float) -> list[NotifiedRequest]:
        """Open requests whose reminder is due."""
        rows = await self.store.run_read(
            _select(
                f"{_REQUEST_SELECT} WHERE closed_at IS NULL AND reminded_at IS NULL"
                " AND remind_at IS NOT NULL AND remind_at <= ? ORDER BY remind_at",
                (now,),
            )
        )
        return [_request(r) for r in rows]

    async def remind(
        self, req: NotifiedRequest, deliveries: list[tuple[str, Notification]], now: float
    ) -> list[Delivery]:
        """Mark a request reminded and queue the reminder, in one transaction (nothing, if
        it was reminded already)."""
        return await self.store.run_write(_remind(req, deliveries, now))

    # -- answers through capabilities ----------------------------------------------------

    async def claim_answer(
        self,
        session_id: str,
        request_id: str,
        behavior: str,
        sink_id: str,
        by: str,
        address: str,
        now: float,
    ) -> bool:
        """Record the one answer a request may get through a capability; False when one
        was recorded before (whichever capability it came through)."""
        return await self.store.run_write(
            _claim_answer((session_id, request_id, behavior, sink_id, by, address, now))
        )

    async def release_answer(self, session_id: str, request_id: str) -> None:
        """Forget a claimed answer that could not be passed on (the runner was away)."""
        await self.store.run_write(
            _write(
                "DELETE FROM notify_answers WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            )
        )

    async def answer_of(self, session_id: str, request_id: str) -> str | None:
        """Who answered a request through a capability (`alice via ntfy`), if anyone did."""
        rows = await self.store.run_read(
            _select(
                "SELECT answered_by FROM notify_answers WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            )
        )
        return str(rows[0][0]) if rows else None
