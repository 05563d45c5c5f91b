"""Removing old sessions (`tether prune`, docs/operations.md "Database sizing and
retention"), written once for both engines.

Only a session that has exited — its log is never appended to again — and has not changed
since the cutoff goes, with everything filed under its id: its events, the notifier's
cursor, queued and sent notifications, requests it was told about, answer links, a lost
claim, and its share links. One transaction: a crash leaves all of it or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tether.store.sql import ALL, ONE, ROWCOUNT, Op, Query

# Tables whose rows belong to one session (`session_id`), removed before the session.
_SESSION_TABLES = (
    "events",
    "notify_cursors",
    "notify_outbox",
    "notify_requests",
    "notify_sent",
    "notify_answers",
    "notify_lost",
    "share_links",
)
_CHUNK = 500
"""Ids per statement (SQLite allows 32,766 parameters; PostgreSQL 65,535)."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune removed (or, dry, would remove)."""

    sessions: list[str]
    """Their ids, oldest first."""
    events: int


def prune_exited(before: float, keep: Sequence[str] = (), *, dry_run: bool = False) -> Op[Pruned]:
    """Remove the sessions that exited and were last updated before `before`, except those
    in `keep` (sessions the hub serves live right now, whatever their row says)."""
    # Locked (PostgreSQL: FOR UPDATE) so none of them is woken while it is removed; the
    # deletes then name the ids, not the condition, so a session that exits meanwhile is
    # not half removed.
    rows = yield Query(
        "SELECT id FROM sessions WHERE state='exited' AND updated_at < ? ORDER BY updated_at, id",
        (before,),
        ALL,
        lock=True,
    )
    kept = set(keep)
    ids = [str(r[0]) for r in rows if str(r[0]) not in kept]
    events = 0
    for chunk in (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
        marks = ",".join("?" * len(chunk))
        if dry_run:
            count = yield Query(
                f"SELECT COUNT(*) FROM events WHERE session_id IN ({marks})",  # noqa: S608
                chunk,
                ONE,
            )
            events += int(count[0])
            continue
        for table in _SESSION_TABLES:
            removed = yield Query(
                f"DELETE FROM {table} WHERE session_id IN ({marks})",  # noqa: S608
                chunk,
                ROWCOUNT,
            )
            if table == "events":
                events += int(removed)
        yield Query(f"DELETE FROM sessions WHERE id IN ({marks})", chunk)  # noqa: S608
    return Pruned(ids, events)
