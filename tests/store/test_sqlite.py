"""SqliteStore: migrations, refusing a newer schema, batched appends and their failures.

What every store must do (first write of a seq wins, paging, sessions and runners, no
write after close) is tests/store/test_contract.py, which runs on SQLite too."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.support.stores import opened
from tether.errors import StoreError
from tether.store import SessionRecord, SqliteStore, StoredEvent
from tether.store.migrations import MIGRATIONS


def event(seq: int, session: str = "s_1", text: str = "x") -> StoredEvent:
    return StoredEvent(
        session, seq, float(seq), "agent_message", f'{{"kind":"agent_message","text":"{text}"}}'
    )


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_fresh_file_is_created_in_wal_mode_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "tether.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    assert user_version(path) == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "events", "runners"} <= tables


async def test_reopening_a_migrated_file_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "tether.db"
    store = SqliteStore(path)
    await store.open()
    await store.create_session(SessionRecord(id="s_1", team="demo", created_at=1, updated_at=1))
    await store.append_events([event(1), event(2)])
    await store.close()
    async with opened(SqliteStore(path)) as again:
        assert user_version(path) == len(MIGRATIONS)
        record = await again.get_session("s_1")
        assert record is not None and record.team == "demo" and record.last_seq == 2


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tether.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 5}")
    store = SqliteStore(path)
    with pytest.raises(StoreError) as info:
        await store.open()
    assert f"schema version {len(MIGRATIONS) + 5}, newer than this tether" in str(info.value)
    assert info.value.hint and "upgrade tether" in info.value.hint
    await store.close()


async def test_concurrent_appends_are_batched_and_all_durable(tmp_path: Path) -> None:
    path = tmp_path / "tether.db"
    store = SqliteStore(path)
    await store.open()
    commits: list[int] = []
    original = store._commit_batch

    def counting(conn: sqlite3.Connection, batch: list[object]) -> None:
        commits.append(len(batch))
        original(conn, batch)  # type: ignore[arg-type]

    store._commit_batch = counting  # type: ignore[method-assign]
    writers = [
        store.append_events([event(seq, session=f"s_{n}") for seq in range(1, 6)])
        for n in range(200)
    ]
    await asyncio.gather(*writers)
    await store.close()
    assert sum(commits) == 200
    assert len(commits) < 200  # many appends shared a transaction
    # Every awaited append is on disk: a new connection sees all of them.
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1000


async def test_one_failing_write_does_not_fail_its_batch_neighbours(tmp_path: Path) -> None:
    async with opened(SqliteStore(tmp_path / "tether.db")) as store:

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO no_such_table VALUES (1)")

        results = await asyncio.gather(
            store.append_events([event(1)]),
            store.write(broken),
            store.append_events([event(2)]),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], StoreError) and "no_such_table" in str(results[1])
        assert [e.seq for e in await store.read_events("s_1", 0)] == [1, 2]


async def test_a_failing_write_alone_in_its_transaction_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    async with opened(SqliteStore(tmp_path / "tether.db")) as store:

        def half_done(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO events (session_id, seq, ts, kind, payload)"
                " VALUES ('s_1', 7, 0, 'x', '{}')"
            )
            raise ValueError("gave up halfway")

        with pytest.raises(ValueError, match="halfway"):
            await store.write(half_done)
        await store.append_events([event(1)])  # the store takes the next write as usual
        assert [e.seq for e in await store.read_events("s_1", 0)] == [1]
