"""What the notifier needs from the hub, as one small interface (the hub implements it in
`tether.notify.install`), so this package never reaches into the hub's internals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tether.store.base import StoredEvent


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as the notifier sees it now."""

    id: str
    team: str
    user_id: str | None
    """The user who hears about it (the one who started it)."""
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Permission requests waiting, by request id (their event payloads)."""
    exited: bool = False
    runner_connected: bool = True
    owner_device_id: str | None = None
    """The device holding the owner slot now, if any."""
    owner_label: str | None = None
    last_seq: int = 0
    """The last event the hub has applied to the session's state; the notifier reads no
    further (a later event may be durable already, but the state does not show it yet)."""


@dataclass(frozen=True, slots=True)
class Person:
    """A user, as the notifier needs to know them."""

    id: str
    name: str
    is_admin: bool = False
    disabled: bool = False


class EventLog(Protocol):
    """The durable event log (the hub's store)."""

    async def read_events(
        self, session_id: str, after: int, limit: int = 1000
    ) -> Sequence[StoredEvent]:
        """Events with seq > after, in order."""


class HubView(Protocol):
    """Sessions, users and devices, and the one action the notifier takes: a decision."""

    async def session(self, session_id: str) -> SessionView | None:
        """A session now, or None if there is no such session."""

    def live_session_ids(self) -> list[str]:
        """Sessions the hub is serving (not exited)."""

    async def user(self, user_id: str) -> Person | None:
        """A user, or None."""

    async def device_name(self, device_id: str) -> str | None:
        """A device's name, or None when it is gone or revoked."""

    async def decide(self, session_id: str, request_id: str, behavior: str, by: str) -> None:
        """Pass a decision to the session's runner (NotFound: not pending; Conflict: the
        runner or the session is not there to take it)."""

    async def audit(
        self, action: str, user_id: str | None, device_id: str | None, **details: Any
    ) -> None:
        """Append to the hub's audit log."""
