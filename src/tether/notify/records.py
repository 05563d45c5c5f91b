"""The records the notification tables hold: sinks, queued deliveries, notified requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tether.notify.contract import Notification

if TYPE_CHECKING:
    from tether.protocol.api_shapes import SinkRow


@dataclass(frozen=True, slots=True)
class Sink:
    """Somewhere one user's notifications go: a webhook, an ntfy topic, or one browser."""

    id: str
    user_id: str
    kind: str
    url: str
    """The webhook URL, the ntfy topic URL, or the browser's push endpoint."""
    hub_url: str
    """The hub address the sink was added through: links in its notifications use it."""
    created_at: float
    device_id: str | None = None
    """Web Push: the browser device it belongs to."""
    events: tuple[str, ...] | None = None
    """Only these events (None: whatever the user's preferences allow)."""
    sealed: str = ""
    trusted: bool = False
    """Added by an admin: may reach loopback and private addresses."""
    failures: int = 0
    last_error: str | None = None

    def public(self) -> SinkRow:
        """What `tether notify list` shows: never a secret, and of a push endpoint (a
        capability URL of the push service) only its origin."""
        url = self.url
        if self.kind == "webpush":
            parts = urlsplit(url)
            url = f"{parts.scheme}://{parts.netloc}/…"
        return {
            "id": self.id,
            "kind": self.kind,
            "url": url,
            "device_id": self.device_id,
            "events": list(self.events) if self.events is not None else None,
            "created_at": self.created_at,
            "trusted": self.trusted,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def wants(self, event: str) -> bool:
        """Does this sink take this event (its own filter)?"""
        return event == "test" or self.events is None or event in self.events


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification queued for one sink (durable until sent or given up)."""

    id: int
    sink_id: str
    notification: Notification
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class NotifiedRequest:
    """A permission request the notifier told a user about, until it is answered."""

    session_id: str
    request_id: str
    user_id: str
    notification: Notification
    created_at: float
    remind_at: float | None = None
    reminded_at: float | None = None
    closed_at: float | None = None
    closed_how: str | None = None


@dataclass(slots=True)
class Step:
    """What processing the events of one session after `start` up to `cursor` produced,
    committed in one transaction with the new cursor (so a restart neither repeats nor
    loses any of it) — only if the stored cursor is still `start`: whoever moved it first
    (another hub replica, which saw the same events) has sent their notifications."""

    session_id: str
    start: int
    cursor: int
    deliveries: list[tuple[str, Notification]]
    opened: list[NotifiedRequest]
    closed: list[tuple[str, str]]
    """(request id, how) of requests answered or withdrawn."""
