"""The Store contract, run on every backend (SQLite and PostgreSQL), plus what each
backend must do alike: the same schema, migrations applied once."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support.pg import pg_database
from tether.errors import StoreError
from tether.store import SessionRecord, StoredEvent
from tether.store.migrations import MIGRATIONS
from tether.store.pg_migrations import PG_CLUSTER_MIGRATIONS, PG_MIGRATIONS
from tether.store.postgres import PostgresStore, redacted
from tether.store.retention import prune_exited
from tether.store.sql import ONE, Op, Query
from tether.store.sqlite import SqliteStore


async def last_seq(store: Any, session_id: str) -> int:
    events = await store.read_events(session_id, 0, limit=100_000)
    return events[-1].seq if events else 0


def event(seq: int, session: str = "s_1", text: str = "x") -> StoredEvent:
    return StoredEvent(
        session, seq, seq + 0.123456, "agent_message", f'{{"kind":"agent_message","text":"{text}"}}'
    )


async def test_first_write_of_a_seq_wins(any_store: Any) -> None:
    await any_store.append_events([event(1, text="first"), event(2)])
    await any_store.append_events([event(1, text="second"), event(2), event(3)])
    events = await any_store.read_events("s_1", 0)
    assert [e.seq for e in events] == [1, 2, 3]
    assert '"first"' in events[0].payload
    assert events[0].ts == 1.123456  # timestamps keep their precision on both engines


async def test_pages_in_seq_order(any_store: Any) -> None:
    await any_store.append_events([event(seq) for seq in range(25, 0, -1)])
    await any_store.append_events([event(1, session="s_other")])
    pages, after = [], 0
    while page := await any_store.read_events("s_1", after, limit=10):
        pages.append([e.seq for e in page])
        after = page[-1].seq
    assert pages == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert await any_store.read_events("s_1", 25) == []
    assert await any_store.read_events("s_nobody", 0) == []
    assert await last_seq(any_store, "s_nobody") == 0
    assert await last_seq(any_store, "s_1") == 25


async def test_many_concurrent_appends_are_all_durable(any_store: Any) -> None:
    await asyncio.gather(
        *(
            any_store.append_events([event(seq, session=f"s_{n}") for seq in range(1, 6)])
            for n in range(100)
        )
    )
    counts = await asyncio.gather(*(last_seq(any_store, f"s_{n}") for n in range(100)))
    assert counts == [5] * 100


async def test_sessions_and_runners_round_trip(any_store: Any) -> None:
    await any_store.create_session(SessionRecord(id="s_a", team="t", created_at=1, updated_at=1))
    await any_store.create_session(SessionRecord(id="s_b", team="t", created_at=2, updated_at=2))
    await any_store.append_events([event(1, session="s_a"), event(2, session="s_a")])
    await any_store.update_session("s_a", state="exited", exit_code=3)
    with pytest.raises(ValueError, match="not updatable"):
        await any_store.update_session("s_a", team="other")
    listed = await any_store.list_sessions()
    assert [s.id for s in listed] == ["s_b", "s_a"]
    assert (listed[1].state, listed[1].exit_code, listed[1].last_seq) == ("exited", 3, 2)
    record = await any_store.get_session("s_a")
    assert record is not None and record.team == "t"
    assert await any_store.get_session("s_nobody") is None
    await any_store.save_runner("r1", "0.1", "[]", 5.0)
    await any_store.save_runner("r1", "0.2", "[]", 6.0)
    assert await any_store.list_runners() == [
        {"id": "r1", "version": "0.2", "teams": "[]", "last_seen": 6.0}
    ]


async def test_a_seq_at_the_top_of_the_range_is_kept(any_store: Any) -> None:
    top = 2**63 - 1
    await any_store.append_events([event(top)])
    assert await last_seq(any_store, "s_1") == top


async def test_writes_after_close_are_refused(any_store: Any) -> None:
    await any_store.close()
    with pytest.raises(StoreError, match="closed"):
        await any_store.append_events([event(1)])


def _sqlite_columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


async def test_both_engines_have_the_same_tables_and_columns(tmp_path: Path) -> None:
    assert len(MIGRATIONS) == len(PG_MIGRATIONS)
    sqlite_store = SqliteStore(tmp_path / "tether.db")
    await sqlite_store.open()
    await sqlite_store.close()
    expected = _sqlite_columns(tmp_path / "tether.db")
    async with pg_database() as dsn:
        store = PostgresStore(dsn)
        await store.open()
        await store.close()
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema='public'"
                " ORDER BY table_name, ordinal_position"
            )
        finally:
            await conn.close()
    cluster_only = {"tether_schema", "tether_cluster_schema"} | set(
        re.findall(r"CREATE TABLE (\w+)", "".join(PG_CLUSTER_MIGRATIONS))
    )
    actual: dict[str, list[str]] = {}
    for row in rows:
        if row["table_name"] not in cluster_only:
            actual.setdefault(row["table_name"], []).append(row["column_name"])
    assert actual == expected


async def test_replicas_starting_at_once_migrate_exactly_once() -> None:
    async with pg_database() as dsn:
        replicas = [PostgresStore(dsn, min_size=1, max_size=2) for _ in range(5)]
        await asyncio.gather(*(r.open() for r in replicas))
        try:
            conn = await asyncpg.connect(dsn)
            try:
                versions = [r[0] for r in await conn.fetch("SELECT version FROM tether_schema")]
                cluster = [
                    r[0] for r in await conn.fetch("SELECT version FROM tether_cluster_schema")
                ]
            finally:
                await conn.close()
            assert sorted(versions) == list(range(1, len(PG_MIGRATIONS) + 1))
            assert sorted(cluster) == list(range(1, len(PG_CLUSTER_MIGRATIONS) + 1))
        finally:
            await asyncio.gather(*(r.close() for r in replicas))


async def test_a_newer_schema_is_refused_with_a_clear_error() -> None:
    async with pg_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE TABLE tether_schema (version INTEGER)")
            await conn.execute("INSERT INTO tether_schema VALUES ($1)", len(PG_MIGRATIONS) + 5)
        finally:
            await conn.close()
        store = PostgresStore(dsn)
        with pytest.raises(StoreError, match="newer than this tether"):
            await store.open()
        await store.close()


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    from tests.support.procs import free_port

    dsn = f"postgresql://tether:s3cret@127.0.0.1:{free_port()}/tether"
    store = PostgresStore(dsn)
    with pytest.raises(StoreError) as info:
        await store.open()
    assert "s3cret" not in str(info.value)
    assert "cannot connect to the PostgreSQL store" in str(info.value)
    assert redacted(dsn) == f"postgresql://tether:***@127.0.0.1:{dsn.split(':')[3]}"


async def test_prune_removes_old_exited_sessions_whole_and_nothing_else(any_store: Any) -> None:
    # s_old: exited long ago (goes, with every row filed under it); s_new: exited after the
    # cutoff; s_run: old but still running; s_live: old and exited in its row, but the hub
    # serves it as running (kept).
    for sid in ("s_old", "s_new", "s_run", "s_live"):
        await any_store.create_session(SessionRecord(id=sid, team="t", created_at=1, updated_at=1))
        await any_store.append_events([event(1, session=sid), event(2, session=sid)])
    await any_store.update_session("s_old", state="exited", updated_at=100.0)
    await any_store.update_session("s_live", state="exited", updated_at=100.0)
    await any_store.update_session("s_new", state="exited", updated_at=300.0)
    await any_store.update_session("s_run", state="running", updated_at=100.0)
    await any_store.run_write(_a_user("u"))
    await any_store.run_write(_file_rows_under("s_old"))
    await any_store.run_write(_file_rows_under("s_new"))

    dry = await any_store.run_write(prune_exited(200.0, ["s_live"], dry_run=True))
    assert (dry.sessions, dry.events) == (["s_old"], 2)
    assert await any_store.get_session("s_old") is not None  # a dry run removes nothing

    done = await any_store.run_write(prune_exited(200.0, ["s_live"]))
    assert (done.sessions, done.events) == (["s_old"], 2)
    assert await any_store.get_session("s_old") is None
    assert await any_store.read_events("s_old", 0, limit=10) == []
    assert await any_store.run_read(_rows_under("s_old")) == 0
    assert await any_store.run_read(_rows_under("s_new")) == len(_FILED) + 1
    assert sorted(s.id for s in await any_store.list_sessions()) == ["s_live", "s_new", "s_run"]
    for kept in ("s_new", "s_run", "s_live"):
        assert await last_seq(any_store, kept) == 2
    again = await any_store.run_write(prune_exited(200.0, ["s_live"]))
    assert (again.sessions, again.events) == ([], 0)


_FILED = (
    "INSERT INTO notify_cursors (session_id, seq) VALUES (?, 2)",
    "INSERT INTO notify_outbox (sink_id, notification, session_id, next_at, created_at)"
    " VALUES ('k', '{}', ?, 1, 1)",
    "INSERT INTO notify_requests (session_id, request_id, user_id, notification, created_at)"
    " VALUES (?, 'r', 'u', '{}', 1)",
    "INSERT INTO notify_sent (session_id, request_id, sink_id, sent_at) VALUES (?, 'r', 'k', 1)",
    "INSERT INTO notify_answers (session_id, request_id, behavior, sink_id, answered_by,"
    " answered_at) VALUES (?, 'r', 'allow', 'k', 'alice', 1)",
    "INSERT INTO notify_lost (session_id, told_at) VALUES (?, 1)",
)


def _a_user(user_id: str) -> Op[None]:
    yield Query("INSERT INTO users (id, name, created_at) VALUES (?, ?, 1)", (user_id, user_id))


def _file_rows_under(session_id: str) -> Op[None]:
    """A row under `session_id` in every table that files rows by session."""
    for sql in _FILED:
        yield Query(sql, (session_id,))
    yield Query(
        "INSERT INTO share_links (id, token_hash, session_id, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, 'u', 1, 2)",
        (f"{session_id}-link", f"{session_id}-hash", session_id),
    )


def _rows_under(session_id: str) -> Op[int]:
    total = 0
    for table in [*(sql.split()[2] for sql in _FILED), "share_links"]:
        row = yield Query(f"SELECT COUNT(*) FROM {table} WHERE session_id=?", (session_id,), ONE)
        total += int(row[0])
    return total
