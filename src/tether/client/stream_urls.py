"""The stream URLs of one session at every URL of its hub (hub replicas), and moving
between them when a connection fails (tether.client.session)."""

from __future__ import annotations

from collections.abc import Sequence

from tether.client.tls import check_hub_url


class StreamUrls:
    """The session's stream at each URL of the hub; `current` is the one to connect to."""

    def __init__(
        self, hub_url: str | Sequence[str], session_id: str, *, follow: bool, insecure: bool
    ) -> None:
        hubs = [hub_url] if isinstance(hub_url, str) else list(hub_url)
        for hub in hubs:
            check_hub_url(hub, insecure=insecure)
        query = "?follow=1" if follow else ""
        self.all = [
            hub.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
            + f"/v1/sessions/{session_id}/stream{query}"
            for hub in hubs
        ]
        self.current = self.all[0]
        self._tried = 0

    def connected(self) -> None:
        """The current URL works: a later drop tries every URL again."""
        self._tried = 0

    def fail_over(self) -> bool:
        """Move to the next URL; True to try it at once (it has not failed this round)."""
        if len(self.all) < 2:
            return False
        self.current = self.all[(self.all.index(self.current) + 1) % len(self.all)]
        self._tried += 1
        if self._tried < len(self.all):
            return True
        self._tried = 0
        return False
