"""Helpers for notification tests on an in-process hub with real auth."""

from __future__ import annotations

from typing import Any

from tests.support.authhub import Device, SecureHub
from tether.notify.service import NotifyService


def notify_of(hub: Any) -> NotifyService:
    """The hub's notification service."""
    from tether.notify.routes import notify_of as installed

    return installed(hub.app)


async def add_sink(hub: SecureHub, device: Device, **body: Any) -> dict[str, Any]:
    """Add a sink as `device`'s user; returns the API's answer."""
    async with hub.client(device.token) as c:
        result: dict[str, Any] = await c.request("POST", "/v1/notify/sinks", json=body)
        return result


async def start(hub: SecureHub, device: Device, prompt: str, team: str = "demo") -> str:
    """Start a session with a first message; returns its id."""
    async with hub.client(device.token) as c:
        session = await c.start(team, prompt=prompt)
        return str(session["id"])


async def settle_and_tick(hub: Any) -> None:
    """Let the notifier catch up, run its periodic checks once, and catch up again."""
    service = notify_of(hub)
    await service.settled()
    await service.tick()
    await service.settled()
