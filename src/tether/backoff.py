"""Reconnect delays: jittered exponential backoff (the runner's and the client's)."""

from __future__ import annotations

import random


class Backoff:
    """Jittered exponential backoff: 0.5 s, 1 s, 2 s … capped, each scaled by a random 50–100 %."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        delay = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        jittered: float = delay * random.uniform(0.5, 1.0)
        return jittered

    def reset(self) -> None:
        """After a successful connection."""
        self.attempt = 0
