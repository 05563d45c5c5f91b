"""Settings of the notifier (docs/notifications.md, "Settings"): one object, loaded once."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tether.errors import ConfigError
from tether.notify.addresses import parse_sink_url

DEFAULT_SUBJECT = "mailto:tether@localhost"


@dataclass(frozen=True)
class NotifySettings:
    """How the hub notifies."""

    public_url: str | None = None
    """The hub's address for links in notifications (`TETHER_PUBLIC_URL`); without it a
    sink's links use the address it was added through."""
    vapid_subject: str | None = None
    """Contact for push services, `mailto:` or `https:` (`TETHER_VAPID_SUBJECT`); default the
    public URL when it is https, else mailto:tether@localhost."""
    lost_after_s: float = 120.0
    """A session whose runner has been away this long is reported as failed (`lost`)."""
    tick_s: float = 1.0
    """How often due reminders, lost sessions and retries are looked at."""
    max_attempts: int = 8
    """Deliveries to one sink tried at most this often before the notification is dropped."""
    retry_base_s: float = 2.0
    """First retry delay; it doubles (with jitter) up to `retry_cap_s`."""
    retry_cap_s: float = 300.0
    """Longest delay between two tries."""
    send_timeout_s: float = 10.0
    """Seconds a sink has to answer one delivery."""
    concurrency: int = 16
    """Deliveries in flight at once (one at a time per sink, in order)."""
    visibility_ttl_s: float = 90.0
    """A tab's "I am visible" report counts this long (the page repeats it every minute)."""

    @classmethod
    def from_env(cls) -> NotifySettings:
        """The settings with `TETHER_PUBLIC_URL` and `TETHER_VAPID_SUBJECT` applied."""
        public = os.environ.get("TETHER_PUBLIC_URL", "").strip().rstrip("/") or None
        if public is not None:
            parse_sink_url(public)
        subject = os.environ.get("TETHER_VAPID_SUBJECT", "").strip() or None
        if subject is not None and not subject.startswith(("mailto:", "https://")):
            raise ConfigError(
                f"TETHER_VAPID_SUBJECT must be a mailto: or https: URL, not {subject!r}"
            )
        return cls(public_url=public, vapid_subject=subject)

    @property
    def subject(self) -> str:
        """The VAPID `sub` claim."""
        if self.vapid_subject:
            return self.vapid_subject
        if self.public_url and self.public_url.startswith("https://"):
            return self.public_url
        return DEFAULT_SUBJECT
