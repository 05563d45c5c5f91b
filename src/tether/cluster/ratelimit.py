"""Rate limits every replica counts together (pairing and sign-in attempts), kept in one
PostgreSQL row per key and window: rotating between replicas buys no extra attempts.

A sliding-window counter: the attempts of the current fixed window plus the previous
window's, weighted by how much of it still overlaps the sliding window. One upsert per
attempt, atomic on the row, so racing replicas never both slip under the limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from tether.auth.ratelimit import RateLimited
from tether.store.postgres import PostgresStore
from tether.store.sql import ONE, Op, Query


def count_attempt(key: str, window: float, now: float, limit: int) -> Op[tuple[float, bool]]:
    """Count one attempt unless over the limit; return (weighted count, counted)."""
    start = math.floor(now / window)
    previous = yield Query(
        "SELECT hits FROM rate_limits WHERE key=? AND window_start=?", (key, start - 1), ONE
    )
    # The row must exist before it can be locked: racing first attempts would otherwise
    # all read "no row" and all be counted.
    yield Query(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 0)"
        " ON CONFLICT (key, window_start) DO NOTHING",
        (key, start),
    )
    current = yield Query(
        "SELECT hits FROM rate_limits WHERE key=? AND window_start=?",
        (key, start),
        ONE,
        lock=True,
    )
    overlap = 1.0 - (now / window - start)
    weighted = current[0] + (previous[0] if previous else 0) * overlap
    if weighted >= limit:
        return weighted, False
    yield Query(
        "UPDATE rate_limits SET hits = hits + 1 WHERE key=? AND window_start=?", (key, start)
    )
    yield Query("DELETE FROM rate_limits WHERE key=? AND window_start < ?", (key, start - 1))
    return weighted + 1, True


@dataclass(eq=False)
class SharedRateLimiter:
    """At most about `limit` attempts per `window` seconds for each key, across replicas."""

    store: PostgresStore
    limit: int
    window: float
    clock: Callable[[], float]
    _: KW_ONLY
    prefix: str
    message: str = "too many pairing attempts from this address"

    async def hit(self, key: str) -> None:
        """Count one attempt; raise RateLimited when the key is over its budget."""
        now = self.clock()
        _count, counted = await self.store.run_write(
            count_attempt(f"{self.prefix}:{key}", self.window, now, self.limit)
        )
        if not counted:
            wait = int(self.window - (now % self.window)) + 1
            raise RateLimited(self.message, hint=f"wait up to {wait} s and check the code")

    async def check(self, key: str) -> None:
        """`hit`, as a `tether.auth.ratelimit.Limiter`."""
        await self.hit(key)
