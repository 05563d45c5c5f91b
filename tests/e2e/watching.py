"""What the tests that take a hub away mid-answer share (kill -9, SIGTERM): the demo
agent's `long N` chunks, and a client (the client API's `RemoteSession`) that notes every
event, role and drop it sees while the hub goes and comes back."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from tests.e2e.cluster import Cluster
from tests.support.timing import scaled
from tether.client import RemoteSession, SessionEvent, static_token


def chunk_numbers(payloads: list[dict[str, Any]]) -> list[int]:
    """The N of each `chunk N/…` agent message, in order."""
    numbers = []
    for payload in payloads:
        if payload.get("kind") == "agent_message":
            match = re.match(r"chunk (\d+)/", str(payload.get("text")))
            if match:
                numbers.append(int(match.group(1)))
    return numbers


@dataclass
class Watcher:
    """A connected RemoteSession and what it noted: each event's seq, each role it was
    given on (re)connecting, each drop."""

    remote: RemoteSession
    seen: list[int]
    roles: list[str]
    drops: list[str]

    @classmethod
    async def connect(cls, cluster: Cluster, session: str) -> Watcher:
        """Connect to `session` on `cluster` with a session token of its CLI."""
        seen: list[int] = []
        roles: list[str] = []
        drops: list[str] = []
        remote = RemoteSession(
            cluster.url,
            session,
            static_token(cluster.token()),
            on_event=lambda event: seen.append(event.seq),
            on_connected=lambda role, _info: roles.append(role),
            on_disconnected=drops.append,
        )
        await remote.connect()
        return cls(remote, seen, roles, drops)

    async def until_turn_finished(self, timeout: float = 60) -> list[SessionEvent]:
        """Iterate the session's events up to `turn_finished`; return those iterated."""
        iterated: list[SessionEvent] = []

        async def scan() -> None:
            async for event in self.remote:
                iterated.append(event)
                if event.kind == "turn_finished":
                    return

        await asyncio.wait_for(scan(), scaled(timeout))
        return iterated
