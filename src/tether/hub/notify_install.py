"""Wiring notifications into the hub — the one place that knows both sides.

`install_notifications(app)` is called once by the app factory (`create_secure_app`). It
reads the notification keys from the hub's secrets file, builds the `NotifyService` over
the hub's store, subscribes it to "a session's events became durable" (the broker's
listeners), runs it inside the app's lifespan, and adds the routes. `BrokerHubView` is
everything the notifier may know or do in the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI

from tether.auth.service import AuthService
from tether.errors import NotFound
from tether.hub.broker import Broker, LiveSession
from tether.hub.secrets import HubSecrets
from tether.notify.hubview import Person, SessionView
from tether.notify.notifier import INTERESTING
from tether.notify.service import NotifyService
from tether.notify.settings import NotifySettings
from tether.notify.vapid import VapidKey, new_private_key
from tether.protocol.messages import ControlPermissionDecision
from tether.protocol.states import SessionState

Clock = Callable[[], float]


class BrokerHubView:
    """The notifier's view of the hub, over the broker and the auth service."""

    def __init__(self, broker: Broker, auth: AuthService) -> None:
        self.broker, self.auth = broker, auth

    async def session(self, session_id: str) -> SessionView | None:
        """A session now (loaded from the store if the hub is not serving it)."""
        try:
            live = await self.broker.session(session_id)
        except NotFound:
            return None
        record = live.record
        owner = live.owner.principal if live.owner is not None else None
        return SessionView(
            id=record.id,
            team=record.team,
            user_id=record.created_by,
            pending=dict(live.tracker.pending),
            exited=live.tracker.state is SessionState.EXITED,
            runner_connected=(record.runner_id or "") in self.broker.runners,
            owner_device_id=owner.device_id if owner is not None else None,
            owner_label=owner.label if owner is not None else None,
            last_seq=live.durable_seq,
        )

    def live_session_ids(self) -> list[str]:
        """Sessions in the broker's memory that have not exited."""
        return [
            sid
            for sid, live in self.broker.sessions.items()
            if live.tracker.state is not SessionState.EXITED
        ]

    async def user(self, user_id: str) -> Person | None:
        """A user of the auth service."""
        user = await self.auth.user(user_id)
        if user is None:
            return None
        return Person(user.id, user.name, user.is_admin, user.disabled_at is not None)

    async def device_name(self, device_id: str) -> str | None:
        """A live device's name."""
        device = await self.auth.device(device_id)
        return None if device is None or device.revoked else device.name

    async def decide(self, session_id: str, request_id: str, behavior: str, by: str) -> None:
        """Pass a decision on, through the broker's one pending-request check."""
        live = await self.broker.session(session_id)
        decision = ControlPermissionDecision(request_id=request_id, behavior=behavior, by=by)
        await self.broker.decide_permission(live, decision)

    async def audit(
        self, action: str, user_id: str | None, device_id: str | None, **details: Any
    ) -> None:
        """An audit entry (ids only, never a token)."""
        await self.auth.record(action, None, user_id=user_id, device_id=device_id, **details)


class HubKeys:
    """The capability, sealing and VAPID keys, read from the hub's secrets file (and made
    there on first use) when first needed — not when the app is built."""

    def __init__(self, secrets: HubSecrets, settings: NotifySettings) -> None:
        self.secrets, self.settings = secrets, settings

    @functools.cached_property
    def capability(self) -> bytes:
        """Signs answer links."""
        return self.secrets.get_bytes("notify_capability_key")

    @functools.cached_property
    def seal(self) -> bytes:
        """Seals sink secrets in the database."""
        return self.secrets.get_bytes("notify_seal_key")

    @functools.cached_property
    def vapid(self) -> VapidKey:
        """The hub's Web Push identity."""
        return VapidKey(
            self.secrets.get("vapid_private_key", new_private_key), self.settings.subject
        )

    def load(self) -> None:
        """Read (or make) all three now."""
        assert self.capability and self.seal and self.vapid


_MARKS = tuple(f'"kind":"{kind}"' for kind in INTERESTING)


def _interesting(live: LiveSession, after: int) -> bool:
    """Does the session hold an event after `after` the notifier acts on? (The broker
    writes payloads compactly, so the kind reads `"kind":"…"`; a match inside some text
    only costs one read.)"""
    for seq, frame in reversed(live.recent):
        if seq <= after:
            return False
        if any(mark in frame for mark in _MARKS):
            return True
    return after < live.durable_seq  # older than the tail: let the notifier read the store


def install_notifications(
    app: FastAPI,
    auth: AuthService,
    *,
    clock: Clock = time.time,
    settings: NotifySettings | None = None,
) -> NotifyService:
    """Add notifications to a hub app (`app.state.notify`)."""
    from tether.hub.notify_routes import notify_router
    from tether.web.live import live_router

    broker: Broker = app.state.broker
    config = settings or NotifySettings.from_env()
    keys = HubKeys(HubSecrets.for_data_dir(app.state.settings.data_dir), config)
    service = NotifyService(
        app.state.store,
        app.state.store,
        BrokerHubView(broker, auth),
        keys,
        settings=config,
        clock=clock,
    )

    seen: dict[str, int] = {}

    def durable(live: LiveSession) -> None:
        # Wake the notifier only for batches that hold an event it acts on (the rest it
        # reads later, with the next one that does); the live list hears of every change.
        session_id = live.record.id
        service.notifier.changed(session_id, wake=_interesting(live, seen.get(session_id, 0)))
        seen[session_id] = live.durable_seq

    broker.listeners.append(durable)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(the_app) as state:
            await asyncio.to_thread(keys.load)
            async with service.running():
                yield state

    app.router.lifespan_context = lifespan
    app.state.notify = service
    app.include_router(notify_router)
    app.include_router(live_router)
    return service
