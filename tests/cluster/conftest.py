"""An open PostgreSQL store on a fresh database, for the cluster tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import stores
from tether.store.postgres import PostgresStore


@pytest.fixture
async def pg_store() -> AsyncIterator[PostgresStore]:
    async with stores.pg_store() as store:
        yield store
