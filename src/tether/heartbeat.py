"""Heartbeats, one loop for every socket (the hub's runner and viewer sockets, the
runner's connection to the hub): ping every `interval`; a peer silent for longer than
`dead_after` is gone, and `on_silent` closes its socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Heard:
    """When a peer was last heard from."""

    def __init__(self) -> None:
        self.at = time.monotonic()

    def touch(self) -> None:
        """Note a frame from the peer."""
        self.at = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the peer was last heard."""
        return time.monotonic() - self.at


async def keep_alive(
    heard: Heard,
    *,
    interval: float,
    dead_after: float,
    ping: Callable[[], Awaitable[None]],
    on_silent: Callable[[float], Awaitable[None]],
) -> None:
    """Until the peer falls silent: then `on_silent(seconds)`, and return."""
    while True:
        await asyncio.sleep(interval)
        silent = heard.silent_for()
        if silent > dead_after:
            await on_silent(silent)
            return
        await ping()
