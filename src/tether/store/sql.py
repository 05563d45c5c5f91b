"""Database operations written once, run on SQLite or PostgreSQL.

An operation is a generator that yields `Query` values and receives their results —
the sans-I/O shape the protocol package uses, applied to SQL. It never touches a
connection itself, so the same body runs synchronously on SQLite's single writer thread
(`run_sync`) and asynchronously inside an asyncpg transaction (`run_async`):

    def rename(user_id: str, name: str) -> Op[bool]:
        count = yield Query("UPDATE users SET name=? WHERE id=?", (name, user_id), ROWCOUNT)
        return count > 0

The SQL is the subset both engines speak (`?` placeholders, `ON CONFLICT … DO NOTHING`,
`RETURNING`, `excluded.`); placeholders are rewritten to `$1, $2 …` for PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

T = TypeVar("T")

Fetch = Literal["none", "one", "all", "rowcount", "many"]
NONE: Fetch = "none"
ONE: Fetch = "one"
ALL: Fetch = "all"
ROWCOUNT: Fetch = "rowcount"
MANY: Fetch = "many"
"""Run the statement once per row of `params` (a list of tuples); yields None."""


@dataclass(frozen=True, slots=True)
class Query:
    """One statement and what the operation wants back: nothing, one row (or None), all
    rows, the number of rows changed, or (MANY) the statement run for each parameter row.

    `lock` marks a SELECT whose rows the operation goes on to change: PostgreSQL runs it
    `FOR UPDATE` (so two replicas cannot both redeem one code); SQLite needs nothing, its
    single writer already runs one operation at a time."""

    sql: str
    params: Sequence[Any] = ()
    fetch: Fetch = NONE
    lock: bool = False


Op = Generator[Query, Any, T]
"""A database operation: yields queries, receives their results, returns its value."""


def run_sync(op: Op[T], conn: sqlite3.Connection) -> T:
    """Drive an operation on a SQLite connection (the caller owns the transaction)."""
    try:
        query = next(op)
        while True:
            query = op.send(_sqlite_result(conn, query))
    except StopIteration as done:
        result: T = done.value
        return result


def _sqlite_result(conn: sqlite3.Connection, query: Query) -> Any:
    if query.fetch == MANY:
        conn.executemany(query.sql, query.params)
        return None
    cursor = conn.execute(query.sql, tuple(query.params))
    if query.fetch == ONE:
        return cursor.fetchone()
    if query.fetch == ALL:
        return cursor.fetchall()
    if query.fetch == ROWCOUNT:
        return cursor.rowcount
    return None


async def run_async(op: Op[T], conn: Any) -> T:
    """Drive an operation on an asyncpg connection (the caller owns the transaction)."""
    try:
        query = next(op)
        while True:
            query = op.send(await _pg_result(conn, query))
    except StopIteration as done:
        result: T = done.value
        return result


async def _pg_result(conn: Any, query: Query) -> Any:
    sql = postgres_sql(query.sql) + (" FOR UPDATE" if query.lock else "")
    if query.fetch == MANY:
        await conn.executemany(sql, [tuple(row) for row in query.params])
        return None
    if query.fetch == ONE:
        row = await conn.fetchrow(sql, *query.params)
        return tuple(row) if row is not None else None
    if query.fetch == ALL:
        return [tuple(row) for row in await conn.fetch(sql, *query.params)]
    status: str = await conn.execute(sql, *query.params)
    if query.fetch == ROWCOUNT:
        return _rowcount(status)
    return None


def _rowcount(status: str) -> int:
    # asyncpg answers with the command tag: "UPDATE 3", "INSERT 0 1", "DELETE 0".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


_PLACEHOLDER = re.compile(r"\?|'(?:[^']|'')*'")


@lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """`?` placeholders as `$1, $2 …` (question marks inside string literals are kept)."""
    counter = 0

    def number(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(0) != "?":
            return match.group(0)
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(number, sql)
