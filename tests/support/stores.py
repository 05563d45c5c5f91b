"""Open stores for tests: `opened(store)` opens one and closes it on exit, whatever the
test does; `pg_store()` is an open PostgresStore on a fresh database (dropped after)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar

from tests.support.pg import pg_database
from tether.store.postgres import PostgresStore


class Openable(Protocol):
    """What `opened` needs of a store."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Openable)


@contextlib.asynccontextmanager
async def opened(store: S) -> AsyncIterator[S]:
    """`store`, opened; closed on exit."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def pg_store() -> AsyncIterator[PostgresStore]:
    """An open PostgresStore on a fresh database, dropped on exit."""
    async with pg_database() as dsn, opened(PostgresStore(dsn)) as store:
        yield store
