"""The hub on PostgreSQL when its database misbehaves mid-stream, for real, on the
machine's server (only the test's own database is touched; the server is never stopped):
its connections terminated (`pg_terminate_backend`), and the database made read-only for a
while. Nothing is half-acked: /readyz says 503 while writes are refused, the runner
resends, and every line is in the log exactly once, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.hub.readiness_streams import LineStream, all_lines_once, line_stream, until
from tests.support.hub import HubHandle, running_hub
from tests.support.pg import PG_SERVER, pg_database
from tether.store.postgres import PostgresStore


class Database:
    """The test's own database, worked on from the server's `postgres` database."""

    def __init__(self, dsn: str) -> None:
        self.name = dsn.rsplit("/", 1)[1]

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(f"{PG_SERVER}/postgres")

    async def terminate(self) -> int:
        """End every session on this database (the hub's pooled connections)."""
        admin = await self._admin()
        try:
            return int(
                await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    self.name,
                )
            )
        finally:
            await admin.close()

    async def read_only(self, on: bool) -> None:
        """Make new sessions read-only (or not), and end the current ones so it counts."""
        admin = await self._admin()
        try:
            if on:
                await admin.execute(
                    f'ALTER DATABASE "{self.name}" SET default_transaction_read_only = on'
                )
            else:
                await admin.execute(
                    f'ALTER DATABASE "{self.name}" RESET default_transaction_read_only'
                )
        finally:
            await admin.close()
        await self.terminate()


@contextlib.asynccontextmanager
async def pg_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[HubHandle, Database]]:
    """A hub whose store is a fresh PostgreSQL database. (It is built the way `--store`
    builds it; the factory is replaced since this branch predates the flag.)"""
    async with pg_database() as dsn:
        monkeypatch.setattr("tether.app.SqliteStore", lambda _path: PostgresStore(dsn))
        async with running_hub(tmp_path / "hub", with_runner=False) as hub:
            yield hub, Database(dsn)


@contextlib.asynccontextmanager
async def gated_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[LineStream, Database]]:
    """`pg_hub` and a session printing 3,000 lines, waiting at line 300 for the gate."""
    async with (
        pg_hub(tmp_path, monkeypatch) as (hub, db),
        line_stream(hub, tmp_path, total=3000, gate_at=300) as stream,
    ):
        yield stream, db


async def test_terminated_connections_mid_stream_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gated_stream(tmp_path, monkeypatch) as (stream, db):
        assert (await stream.ready())[0] == 200
        stream.gate.touch()
        terminated = 0
        for _ in range(8):  # again and again while the lines stream in
            terminated += await db.terminate()
            await asyncio.sleep(0.1)
        assert terminated >= 1
        await all_lines_once(stream)
        assert (await stream.ready())[0] == 200


async def test_a_read_only_database_holds_the_stream_back_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gated_stream(tmp_path, monkeypatch) as (stream, db):
        await db.read_only(True)
        stream.gate.touch()

        async def refused() -> bool:
            return (await stream.ready())[0] == 503

        await until(refused, what="/readyz to say 503 while the database is read-only")
        await asyncio.sleep(1.0)  # a while of it: the runner keeps producing meanwhile
        status, reason = await stream.ready()
        assert status == 503 and reason == "the store is read-only"  # no host, no database
        assert stream.runner.outbox.unacked_count() > 0
        assert len(await stream.lines()) < 3000
        await db.read_only(False)
        await all_lines_once(stream)

        async def ready_again() -> bool:
            return (await stream.ready())[0] == 200

        await until(ready_again, what="/readyz to say 200 once the database takes writes")


async def test_a_flood_of_readiness_checks_costs_the_database_one_query_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /readyz needs no credentials: 300 at once must neither take the pool from the
    # event writes nor time out on it (the pool here has 2 connections).
    async with pg_database() as dsn:
        monkeypatch.setattr(
            "tether.app.SqliteStore", lambda _path: PostgresStore(dsn, min_size=1, max_size=2)
        )
        async with (
            running_hub(tmp_path / "hub", with_runner=False) as hub,
            line_stream(hub, tmp_path, total=2000, gate_at=100) as stream,
            httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=300)) as http,
        ):
            stream.gate.touch()
            answers = await asyncio.gather(*(http.get(f"{hub.url}/readyz") for _ in range(300)))
            assert {a.status_code for a in answers} == {200}
            await all_lines_once(stream)


async def test_a_refused_state_update_does_not_hold_back_the_acks_of_stored_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database takes events but refuses to update session rows (as a full tablespace
    # would, for real: a trigger raising disk_full): the events are durable, so every one
    # is acked, and the runner holds nothing back.
    async with pg_hub(tmp_path, monkeypatch) as (hub, db):
        conn = await asyncpg.connect(f"{PG_SERVER}/{db.name}")
        try:
            await conn.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'no room' USING ERRCODE = 'disk_full'; END $$;"
                " CREATE TRIGGER refuse BEFORE UPDATE ON sessions"
                " FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        finally:
            await conn.close()
        async with line_stream(hub, tmp_path, total=500, gate_at=100) as stream:
            stream.gate.touch()
            await all_lines_once(stream)

            async def all_acked() -> bool:
                return stream.runner.outbox.unacked_count() == 0

            await until(all_acked, what="every stored event to be acked")
