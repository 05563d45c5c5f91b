"""Wiring notifications into the hub — the one place that knows both sides.

`install_notifications(app, hub)` is called once by the app factory (`tether.app`). It
reads the notification keys from the hub's secrets file, builds the `NotifyService` over
the hub's store, subscribes it to "a session's events became durable" (the broker's
observers), runs it inside the app's lifespan, and adds the routes. `BrokerHubView` is
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
from tether.hub.broker import Broker
from tether.hub.hub import Hub
from tether.hub.observers import SessionChange
from tether.hub_secrets import HubSecrets
from tether.notify.hubview import Person, SessionView
from tether.notify.notifier import INTERESTING
from tether.notify.routes import notify_router
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
        directory = self.broker.directory
        if directory.replica_of(record.runner_id) not in (None, directory.replica_of_here()):
            return None  # hub replicas: the one holding the runner's socket notifies
        # An owner's principal id is its device id (users sign in through devices).
        owner = self.broker.presence.owner(live)
        return SessionView(
            id=record.id,
            team=record.team,
            user_id=record.created_by,
            pending=dict(live.tracker.pending),
            exited=live.tracker.state is SessionState.EXITED,
            runner_connected=directory.is_connected(record.runner_id),
            owner_device_id=owner.principal_id if owner is not None else None,
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


def _interesting(change: SessionChange) -> bool:
    """Does a durable batch hold an event the notifier acts on?"""
    return any(event.kind in INTERESTING for event in change.durable)


def install_notifications(
    app: FastAPI,
    hub: Hub,
    *,
    clock: Clock = time.time,
    settings: NotifySettings | None = None,
) -> NotifyService:
    """Add notifications to a hub app (`notify_of(app)` finds the service)."""
    config = settings or NotifySettings.from_env()
    keys = HubKeys(HubSecrets.for_data_dir(hub.settings.data_dir), config)
    service = NotifyService(
        hub.store,
        hub.store,
        BrokerHubView(hub.broker, hub.auth),
        keys,
        settings=config,
        clock=clock,
        alone=hub.replication is None,
    )

    def durable(change: SessionChange) -> None:
        # Wake the notifier only for batches that hold an event it acts on (the rest it
        # reads later, with the next one that does).
        if _interesting(change):
            service.notifier.changed(change.session_id)

    hub.broker.observers.subscribe(durable)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(the_app) as state:
            await asyncio.to_thread(keys.load)
            async with service.running():
                yield state

    app.router.lifespan_context = lifespan
    hub.extensions["notify"] = service
    app.include_router(notify_router)
    return service
