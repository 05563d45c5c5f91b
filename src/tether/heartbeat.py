"""Heartbeats, one loop for every socket (the hub's runner and viewer sockets, the
runner's connection to the hub): a `ping` every `heartbeat_s`; a peer silent for longer
than `dead_after_s` is gone, and its socket is closed with 4009."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from tether.protocol.codec import encode_frame
from tether.protocol.messages import CloseCode

log = logging.getLogger("tether")


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


class Timing(Protocol):
    """How often to ping, and how long a silence means the peer is gone (the hub's
    settings; the runner's, as the hub's `welcome` set them)."""

    @property
    def heartbeat_s(self) -> float:
        """Seconds between pings."""

    @property
    def dead_after_s(self) -> float:
        """Seconds of silence after which the peer counts as gone."""


async def keep_alive(
    heard: Heard,
    timing: Timing,
    *,
    send: Callable[[str], Awaitable[None]],
    close: Callable[[int, str], Awaitable[None]],
    peer: str,
) -> None:
    """Ping through `send` until `peer` falls silent; then close it, and return."""
    while True:
        await asyncio.sleep(timing.heartbeat_s)
        silent = heard.silent_for()
        if silent > timing.dead_after_s:
            log.info("%s silent for %.0f s; closing", peer, silent)
            await close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout")
            return
        await send(encode_frame("ping"))
