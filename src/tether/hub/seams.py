"""Where one hub process ends: the interfaces that hub replicas implement across processes.

Each has an in-process implementation (one hub, SQLite) and a shared one (replicas on
PostgreSQL, DESIGN "Growing past one machine"); `tether.app.build_hub` picks by store,
and nothing that calls them changes:

| interface      | in process                         | across replicas                           |
| -------------- | ---------------------------------- | ----------------------------------------- |
| `Directory`    | `runners.RunnerDirectory`          | `replica_runners.ReplicaDirectory` (rows) |
| `ControlRoute` | `runners.RunnerDirectory`          | the same: queued for the runner's replica |
| `OwnerSlots`   | `presence.LocalOwnerSlots`         | `replica_owners.ReplicaOwnerSlots` (row)  |
| `Wakeups`      | `presence.Presence`                | the same, fed by `replica_feed`           |
| `LiveSockets`  | `tether.auth.live.LiveConnections` | `replicated.ReplicaLive` (NOTIFY)         |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from tether.auth.principal import Principal
from tether.protocol.messages import TeamInfo

CloseFn = Callable[[int, str], Awaitable[None]]
"""Close one socket with a code and a reason."""


class Directory(Protocol):
    """Which runner serves which team, and whether its socket is up (anywhere)."""

    def team(self, name: str) -> tuple[str, TeamInfo] | None:
        """The runner id serving a team and what it said about it, or None."""

    def is_connected(self, runner_id: str | None) -> bool:
        """Is the runner's socket up?"""

    async def connected_soon(self, runner_id: str | None) -> bool:
        """Is the runner's socket up, waiting a little for one that is most likely
        reconnecting (it dropped moments ago, or this hub has just started)?"""

    def last_seen(self, runner_id: str | None) -> float | None:
        """When the runner was last heard from (now, if it is connected)."""


class ControlRoute(Protocol):
    """The one way a control reaches a runner."""

    async def send_control(self, runner_id: str, session_id: str, control: BaseModel) -> None:
        """Deliver `control` for `session_id` to the runner's socket, or raise `Conflict`
        when the runner is not connected."""


@dataclass(frozen=True, slots=True)
class OwnerClaim:
    """Who holds a session's owner slot: one viewer connection of one principal."""

    connection_id: str
    principal_id: str
    label: str


class OwnerSlots(Protocol):
    """The one owner slot of each session (the first viewer connection that asks)."""

    def holder(self, session_id: str) -> OwnerClaim | None:
        """Who holds the slot now, if anyone."""

    async def acquire(self, session_id: str, claim: OwnerClaim) -> bool:
        """Take the slot if it is free; True when `claim` holds it now."""

    async def release(self, session_id: str, connection_id: str) -> bool:
        """Free the slot if that connection holds it; True when it did."""


class Wakeups(Protocol):
    """Fan-out: tell a session's viewers there is something new for them."""

    def wake(self, session_id: str) -> None:
        """Wake every viewer of the session (each pulls what it has not seen)."""


class LiveSockets(Protocol):
    """Every open socket by the principal behind it, so a revocation closes them all."""

    def track(self, principal: Principal, close: CloseFn) -> AbstractContextManager[None]:
        """Register a socket for the `with` block."""

    async def close(self, key: str, reason: str) -> int:
        """Close every socket under a key (`device:…`, `user:…`); return how many."""

    async def close_all(self, code: int, reason: str) -> int:
        """Close every socket this hub holds with `code` (a drain); return how many."""
