"""The notification tables (tether.notify.schema), read and written through the store's
single writer and its readers. Every multi-row change is one function on the writer
connection, so it commits whole or not at all."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from tether.notify.contract import Notification
from tether.notify.prefs import Preferences
from tether.notify.records import Delivery, NotifiedRequest, Sink, Step

T = TypeVar("T")


class SqlStore(Protocol):
    """The store primitives the tables are built on (SqliteStore has them)."""

    async def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run fn on the writer connection inside a transaction (durable on return)."""

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn on a reader connection."""


_SINK_COLS = (
    "id, user_id, kind, url, hub_url, created_at, device_id, events, sealed, trusted,"
    " failures, last_error"
)
_SINK_SELECT = f"SELECT {_SINK_COLS} FROM notify_sinks"  # noqa: S608 (constant columns)
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


def _insert_deliveries(
    conn: sqlite3.Connection, deliveries: Iterable[tuple[str, Notification]], now: float
) -> list[Delivery]:
    out = []
    for sink_id, note in deliveries:
        cur = conn.execute(
            "INSERT INTO notify_outbox (sink_id, notification, session_id, request_id,"
            " attempts, next_at, created_at) VALUES (?,?,?,?,0,?,?)",
            (sink_id, note.model_dump_json(), note.session, note.request_id, now, now),
        )
        out.append(Delivery(int(cur.lastrowid or 0), sink_id, note))
    return out


class NotifyDb:
    """Sinks, preferences, cursors, the delivery queue, notified requests, answers."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- sinks ---------------------------------------------------------------------------

    async def add_sink(self, sink: Sink) -> None:
        """Add a sink; a browser's new push subscription replaces its old one."""
        events = json.dumps(list(sink.events)) if sink.events is not None else None

        def insert(conn: sqlite3.Connection) -> None:
            if sink.device_id is not None:
                conn.execute("DELETE FROM notify_sinks WHERE device_id=?", (sink.device_id,))
            if sink.kind == "webpush":
                conn.execute("DELETE FROM notify_sinks WHERE kind='webpush' AND url=?", (sink.url,))
            conn.execute(
                f"INSERT INTO notify_sinks ({_SINK_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,0,NULL)",  # noqa: S608
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

        await self.store.write(insert)

    async def sinks_of(self, user_id: str) -> list[Sink]:
        """A user's sinks, oldest first."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"{_SINK_SELECT} WHERE user_id=? ORDER BY created_at, id", (user_id,)
            ).fetchall()
        )
        return [_sink(r) for r in rows]

    async def sink(self, sink_id: str) -> Sink | None:
        """One sink."""
        rows = await self.store.read(
            lambda c: c.execute(f"{_SINK_SELECT} WHERE id=?", (sink_id,)).fetchall()
        )
        return _sink(rows[0]) if rows else None

    async def remove_sink(self, sink_id: str, user_id: str | None = None) -> bool:
        """Remove a sink (of `user_id`, when given) and what is queued for it."""

        def delete(conn: sqlite3.Connection) -> bool:
            where, args = (
                ("id=? AND user_id=?", (sink_id, user_id)) if user_id else ("id=?", (sink_id,))
            )
            gone = conn.execute(f"DELETE FROM notify_sinks WHERE {where}", args).rowcount  # noqa: S608
            if gone:
                conn.execute("DELETE FROM notify_outbox WHERE sink_id=?", (sink_id,))
            return bool(gone)

        removed: bool = await self.store.write(delete)
        return removed

    async def note_outcome(self, sink_id: str, error: str | None) -> None:
        """Count a failed delivery (with its error), or clear the count after a success."""
        sql = (
            "UPDATE notify_sinks SET failures=0, last_error=NULL WHERE id=?"
            if error is None
            else "UPDATE notify_sinks SET failures=failures+1, last_error=? WHERE id=?"
        )
        args = (sink_id,) if error is None else (error[:300], sink_id)
        await self.store.write(lambda c: c.execute(sql, args))

    # -- preferences ---------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Preferences:
        """A user's preferences (the defaults until they save some)."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT prefs FROM notify_prefs WHERE user_id=?", (user_id,)
            ).fetchall()
        )
        return Preferences.model_validate_json(rows[0][0]) if rows else Preferences()

    async def save_prefs(self, user_id: str, prefs: Preferences) -> None:
        """Replace a user's preferences."""
        text = prefs.model_dump_json()
        await self.store.write(
            lambda c: c.execute(
                "INSERT INTO notify_prefs (user_id, prefs) VALUES (?,?)"
                " ON CONFLICT(user_id) DO UPDATE SET prefs=excluded.prefs",
                (user_id, text),
            )
        )

    # -- the event log cursor ----------------------------------------------------------

    async def cursor(self, session_id: str) -> int:
        """The last seq of a session the notifier has dealt with (0: none yet)."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT seq FROM notify_cursors WHERE session_id=?", (session_id,)
            ).fetchall()
        )
        return int(rows[0][0]) if rows else 0

    async def sessions_behind(self) -> list[str]:
        """Sessions whose log has events the notifier has not dealt with (after a restart)."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT e.session_id FROM events e LEFT JOIN notify_cursors n"
                " ON n.session_id = e.session_id GROUP BY e.session_id"
                " HAVING MAX(e.seq) > COALESCE(MAX(n.seq), 0)"
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def commit_step(self, step: Step, now: float) -> list[Delivery]:
        """Queue a step's deliveries, open and close its requests, and move the cursor —
        all in one transaction; returns the queued deliveries."""

        def apply(conn: sqlite3.Connection) -> list[Delivery]:
            for req in step.opened:
                conn.execute(
                    "INSERT OR IGNORE INTO notify_requests (session_id, request_id, user_id,"
                    " notification, created_at, remind_at) VALUES (?,?,?,?,?,?)",
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
                conn.execute(
                    "UPDATE notify_requests SET closed_at=?, closed_how=?"
                    " WHERE session_id=? AND request_id=? AND closed_at IS NULL",
                    (now, how, step.session_id, request_id),
                )
            conn.execute(
                "INSERT INTO notify_cursors (session_id, seq) VALUES (?,?)"
                " ON CONFLICT(session_id) DO UPDATE SET seq=MAX(seq, excluded.seq)",
                (step.session_id, step.cursor),
            )
            return _insert_deliveries(conn, step.deliveries, now)

        queued: list[Delivery] = await self.store.write(apply)
        return queued

    # -- the delivery queue ------------------------------------------------------------

    async def enqueue(
        self, deliveries: list[tuple[str, Notification]], now: float
    ) -> list[Delivery]:
        """Queue deliveries that belong to no event (reminders, lost sessions)."""
        queued: list[Delivery] = await self.store.write(
            lambda c: _insert_deliveries(c, deliveries, now)
        )
        return queued

    async def due(self, now: float, limit: int = 100) -> list[Delivery]:
        """Queued deliveries whose time has come, oldest first."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT id, sink_id, notification, attempts FROM notify_outbox"
                " WHERE next_at <= ? ORDER BY next_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
        )
        return [Delivery(r[0], r[1], Notification.model_validate_json(r[2]), r[3]) for r in rows]

    async def next_due_at(self) -> float | None:
        """When the next queued delivery is due."""
        rows = await self.store.read(
            lambda c: c.execute("SELECT MIN(next_at) FROM notify_outbox").fetchall()
        )
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    async def delivered(self, item: Delivery, now: float, *, sent: bool) -> None:
        """Take a delivery off the queue; when `sent` and it is about a request, remember
        that this sink got that request (it will hear how it was answered)."""
        note = item.notification

        def done(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM notify_outbox WHERE id=?", (item.id,))
            if sent and note.request_id is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO notify_sent VALUES (?,?,?,?)",
                    (note.session, note.request_id, item.sink_id, now),
                )

        await self.store.write(done)

    async def retry_later(self, item: Delivery, next_at: float) -> None:
        """Try a delivery again at `next_at`."""
        await self.store.write(
            lambda c: c.execute(
                "UPDATE notify_outbox SET attempts=attempts+1, next_at=? WHERE id=?",
                (next_at, item.id),
            )
        )

    async def sent_to(self, session_id: str, request_id: str) -> list[str]:
        """The sinks that got a request."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT sink_id FROM notify_sent WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            ).fetchall()
        )
        return [r[0] for r in rows]

    # -- notified requests ---------------------------------------------------------------

    async def request(self, session_id: str, request_id: str) -> NotifiedRequest | None:
        """A notified request."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"{_REQUEST_SELECT} WHERE session_id=? AND request_id=?", (session_id, request_id)
            ).fetchall()
        )
        return _request(rows[0]) if rows else None

    async def open_requests(self, session_id: str) -> list[NotifiedRequest]:
        """A session's notified requests still waiting for an answer."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"{_REQUEST_SELECT} WHERE session_id=? AND closed_at IS NULL", (session_id,)
            ).fetchall()
        )
        return [_request(r) for r in rows]

    async def due_reminders(self, now: float) -> list[NotifiedRequest]:
        """Open requests whose reminder is due."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"{_REQUEST_SELECT} WHERE closed_at IS NULL AND reminded_at IS NULL"
                " AND remind_at IS NOT NULL AND remind_at <= ? ORDER BY remind_at",
                (now,),
            ).fetchall()
        )
        return [_request(r) for r in rows]

    async def remind(
        self, req: NotifiedRequest, deliveries: list[tuple[str, Notification]], now: float
    ) -> list[Delivery]:
        """Mark a request reminded and queue the reminder, in one transaction."""

        def apply(conn: sqlite3.Connection) -> list[Delivery]:
            conn.execute(
                "UPDATE notify_requests SET reminded_at=? WHERE session_id=? AND request_id=?",
                (now, req.session_id, req.request_id),
            )
            return _insert_deliveries(conn, deliveries, now)

        queued: list[Delivery] = await self.store.write(apply)
        return queued

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

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO notify_answers VALUES (?,?,?,?,?,?,?)",
                (session_id, request_id, behavior, sink_id, by, address, now),
            )
            return cur.rowcount == 1

        claimed: bool = await self.store.write(insert)
        return claimed

    async def release_answer(self, session_id: str, request_id: str) -> None:
        """Forget a claimed answer that could not be passed on (the runner was away)."""
        await self.store.write(
            lambda c: c.execute(
                "DELETE FROM notify_answers WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            )
        )

    async def answer_of(self, session_id: str, request_id: str) -> str | None:
        """Who answered a request through a capability (`alice via ntfy`), if anyone did."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT answered_by FROM notify_answers WHERE session_id=? AND request_id=?",
                (session_id, request_id),
            ).fetchall()
        )
        return str(rows[0][0]) if rows else None
