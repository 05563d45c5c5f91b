"""A sliding-window rate limiter keyed by caller address (in memory, per hub process).

The pairing endpoints use two: one per address, and one ceiling for all addresses
together (key `GLOBAL_KEY`), so that rotating source addresses cannot buy more guesses
(docs/security.md, "Pairing codes: the arithmetic")."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator
from typing import Protocol

from tether.errors import TetherError


class RateLimited(TetherError):
    """Too many attempts from one address (HTTP 429)."""

    code = "rate_limited"


GLOBAL_KEY = "*"


class Limiter(Protocol):
    """Counts attempts per key (in memory here; shared by replicas in tether.cluster)."""

    async def check(self, key: str) -> None:
        """Count one attempt; raise RateLimited when the key is over its budget."""


class RateLimiter:
    """At most `limit` attempts per `window` seconds for each key."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        *,
        message: str = "too many pairing attempts from this address",
    ) -> None:
        self.limit = limit
        self.window = window
        self.message = message
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    async def check(self, key: str) -> None:
        """`hit`, as a `Limiter`."""
        self.hit(key)

    def hit(self, key: str) -> None:
        """Count one attempt; raise RateLimited when the key is over its budget."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            wait = int(hits[0] + self.window - now) + 1
            raise RateLimited(self.message, hint=f"wait {wait} s and check the code")
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle addresses so memory stays bounded
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                del self._hits[stale]


class PendingLimit:
    """At most `per_key` things in flight at once for each key (e.g. sockets from one
    address that have not authenticated yet): `hold(key)` is False when it is full."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._held: dict[str, int] = {}

    def count(self, key: str) -> int:
        """How many are in flight for `key`."""
        return self._held.get(key, 0)

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[bool]:
        """Take a place for the `with` block; yields False (and takes none) when full."""
        if self._held.get(key, 0) >= self.per_key:
            yield False
            return
        self._held[key] = self._held.get(key, 0) + 1
        try:
            yield True
        finally:
            left = self._held[key] - 1
            if left:
                self._held[key] = left
            else:
                del self._held[key]
