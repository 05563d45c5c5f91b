"""A fresh PostgreSQL database per test, on the server this machine runs (127.0.0.1:5432)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

PG_SERVER = os.environ.get("TETHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL server at {PG_SERVER}: {exc}")


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """Create an empty database, yield its DSN, drop it (and its connections) afterwards."""
    name = f"tether_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
