"""The hub's settings: one object, loaded once, every field documented (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HubSettings:
    """Settings of one hub process."""

    data_dir: Path
    """Where the store (tether.db) and the local token live."""
    store: str | None = None
    """Where the state lives: None for SQLite in the data dir, or a PostgreSQL URL
    (`--store postgresql://USER@HOST:PORT/DB`, or `TETHER_STORE`): then this process is
    one replica of a hub, and the data dir keeps only what is per machine."""
    heartbeat_s: float = 15.0
    """Seconds between pings on every socket."""
    dead_after_s: float = 30.0
    """A peer silent this long is considered gone and its socket is closed."""
    max_frame_bytes: int = 1024 * 1024
    """Largest frame accepted from a viewer or runner; bigger ones get `frame_too_large`."""
    viewer_send_timeout_s: float = 30.0
    """A viewer whose socket does not take a frame within this time is closed as lagging."""
    recent_events: int = 4096
    """Events per session kept in memory for live viewers (older ones are read from the store)."""
    public_url: str | None = None
    """The URL people and runners reach the hub by (`--public-url`; behind a reverse proxy,
    the proxy's URL). Its host is a Host the hub answers to."""
    allowed_hosts: tuple[str, ...] = ()
    """More Host names the hub answers to (`--allowed-host`, repeatable; `*.example.com`
    matches subdomains; `*` turns the Host check off). See docs/security.md."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDRs of reverse proxies (`--trusted-proxy`, repeatable) whose
    `X-Forwarded-For`/`X-Forwarded-Proto` are believed; from anyone else they are ignored."""
