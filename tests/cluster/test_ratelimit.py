"""Pairing limits shared by every replica: rotating replicas (or racing them) buys nothing."""

from __future__ import annotations

import asyncio

import pytest

from tether.auth.ratelimit import RateLimited
from tether.cluster.ratelimit import SharedRateLimiter
from tether.store.postgres import PostgresStore


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _outcomes(limiters: list[SharedRateLimiter], key: str, attempts: int) -> list[bool]:
    async def one(n: int) -> bool:
        try:
            await limiters[n % len(limiters)].hit(key)
            return True
        except RateLimited:
            return False

    return list(await asyncio.gather(*(one(n) for n in range(attempts))))


async def test_three_replicas_share_one_budget_even_when_racing(pg_store: PostgresStore) -> None:
    clock = Clock(300.0 * 3333)  # the start of a window: nothing overlaps from before
    replicas = [SharedRateLimiter(pg_store, 10, 300, clock, prefix="pair") for _ in range(3)]
    allowed = await _outcomes(replicas, "203.0.113.9", 40)
    assert allowed.count(True) == 10
    with pytest.raises(RateLimited, match="too many pairing attempts"):
        await replicas[2].hit("203.0.113.9")
    # Another address has its own budget.
    await replicas[0].hit("198.51.100.1")


async def test_the_window_slides(pg_store: PostgresStore) -> None:
    clock = Clock(300.0 * 3333)
    limiter = SharedRateLimiter(pg_store, 10, 300, clock, prefix="pair")
    assert (await _outcomes([limiter], "a", 10)).count(True) == 10
    clock.now += 300  # the next window: the last one still weighs fully at its start
    assert (await _outcomes([limiter], "a", 5)).count(True) == 0
    clock.now += 150  # half-way: half of the old window's attempts still count
    assert (await _outcomes([limiter], "a", 10)).count(True) == 5
    clock.now += 600  # long after: a fresh budget
    assert (await _outcomes([limiter], "a", 12)).count(True) == 10
