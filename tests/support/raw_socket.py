"""A WebSocket spoken to by hand, as an attacker (or a test of what the hub refuses) would:
send some frames, then collect whatever comes back until the hub closes the socket."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


@dataclass
class Outcome:
    """What came back: the close code and reason (None and "" if the hub went quiet
    instead of closing), and every frame before that."""

    code: int | None
    reason: str
    frames: list[dict[str, Any]]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The frames of `type` kind."""
        return [f for f in self.frames if f["type"] == kind]


async def exchange(
    url: str,
    headers: dict[str, str],
    frames: list[dict[str, Any]],
    *,
    quiet: float,
    open_timeout: float,
) -> Outcome:
    """Connect to `url`, send `frames` (each with the wire version), and read until the
    hub closes the socket or says nothing for `quiet` seconds."""
    got: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, open_timeout=open_timeout) as ws:
        try:
            for frame in frames:
                await ws.send(json.dumps({"v": 1, **frame}))
            while True:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            return Outcome(rcvd.code if rcvd else None, rcvd.reason if rcvd else "", got)
        except TimeoutError:
            return Outcome(None, "", got)
