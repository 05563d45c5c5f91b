"""Revocations every replica hears: a device, user or share link revoked on one replica has
its sockets closed on all of them (each replica closes the ones it holds)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tether.store.sql import ONE, Op, Query

CHANNEL = "tether_revoke"
"""Payload JSON {key, reason, origin}: close the sockets filed under `key`."""


@dataclass(frozen=True, slots=True)
class Revocation:
    """Close every socket under `key` (`device:…`, `user:…`, `principal:share:…`)."""

    key: str
    reason: str
    origin: str
    """The replica that revoked (it has closed its own sockets already)."""

    def payload(self) -> str:
        """The NOTIFY payload."""
        return json.dumps({"key": self.key, "reason": self.reason, "origin": self.origin})

    @classmethod
    def parse(cls, payload: str) -> Revocation | None:
        """The revocation in a payload, or None when it is not one of ours."""
        try:
            data = json.loads(payload)
            return cls(str(data["key"]), str(data["reason"]), str(data["origin"]))
        except (ValueError, KeyError, TypeError):
            return None


def announce(revocation: Revocation) -> Op[None]:
    """Tell every replica (delivered at commit; the revoke itself is already stored)."""
    yield Query("SELECT pg_notify(?, ?)", (CHANNEL, revocation.payload()), ONE)
