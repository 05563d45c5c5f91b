"""The names the auth tests know the in-process hub by. There is one hub fixture
(tests/support/hub.py, real identities); these are that fixture under its older names.
Plus what several auth tests start from: a session and a share link to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.hub import Device, HubHandle, MovableClock, running_hub

SecureHub = HubHandle
secure_hub = running_hub


@dataclass
class SharedSession:
    """A demo session started by `owner` (a new device of the admin) and its share link."""

    owner: Device
    id: str
    link: dict[str, Any]
    """The hub's answer to POST /v1/sessions/{id}/shares (`id`, `token`, …)."""


async def shared_session(hub: HubHandle, ttl_s: int) -> SharedSession:
    """Start a demo session from a new device and share it for `ttl_s` seconds."""
    owner = await hub.device()
    async with hub.client(owner.token) as client:
        session = await client.start("demo")
        link = await client.request(
            "POST", f"/v1/sessions/{session['id']}/shares", json={"ttl_s": ttl_s}
        )
    return SharedSession(owner, str(session["id"]), link)


__all__ = ["Device", "MovableClock", "SecureHub", "SharedSession", "secure_hub", "shared_session"]
