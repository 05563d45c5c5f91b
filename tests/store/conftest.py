"""Every store test that takes `any_store` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pg import pg_database
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An open, empty store of each kind."""
    if request.param == "sqlite":
        store: Any = SqliteStore(tmp_path / "tether.db")
        await store.open()
        try:
            yield store
        finally:
            await store.close()
        return
    async with pg_database() as dsn:
        store = PostgresStore(dsn)
        await store.open()
        try:
            yield store
        finally:
            await store.close()
