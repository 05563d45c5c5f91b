"""An open PostgreSQL store on a fresh database, for the cluster tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.pg import pg_database
from tether.store.postgres import PostgresStore


@pytest.fixture
async def pg_store() -> AsyncIterator[PostgresStore]:
    async with pg_database() as dsn:
        store = PostgresStore(dsn)
        await store.open()
        try:
            yield store
        finally:
            await store.close()
