"""What each kind of sink is sent: an HTTP request built from a notification (no I/O).

webhook   the contract's JSON, signed `X-Tether-Signature: sha256=<HMAC of the body>`
ntfy      ntfy's JSON publish format: title, message, tags, click URL, http actions
webpush   the contract's JSON, encrypted for one browser (RFC 8291), VAPID-signed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A POST to make."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Outcome(Enum):
    """What became of a delivery attempt."""

    SENT = "sent"
    RETRY = "retry"
    """Worth trying again later (a timeout, a 5xx, a 429)."""
    FAILED = "failed"
    """The receiver refused this notification (a 4xx); not retried."""
    GONE = "gone"
    """The push subscription no longer exists (404/410): the sink is removed."""


RETRY_STATUSES = frozenset({408, 425, 429})


def outcome_of(status: int, *, push: bool) -> Outcome:
    """How to treat an HTTP status from a receiver."""
    if 200 <= status < 300:
        return Outcome.SENT
    if push and status in (404, 410):
        return Outcome.GONE
    if status in RETRY_STATUSES or status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED
