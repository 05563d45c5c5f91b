"""The notification service of one hub: sinks and preferences for the routes, the notifier
and the delivery worker in the background, capability answers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

from tether.errors import ConfigError, NotFound
from tether.notify.addresses import check_destination, check_push_endpoint, parse_sink_url
from tether.notify.answers import Answers
from tether.notify.contract import Notification
from tether.notify.db import NotifyDb, SqlStore
from tether.notify.delivery import Deliverer
from tether.notify.hubview import EventLog, HubView
from tether.notify.notifier import Notifier
from tether.notify.prefs import Preferences
from tether.notify.presence import Visibility
from tether.notify.records import Delivery, Sink
from tether.notify.sealing import SinkSecrets, seal
from tether.notify.sender import Attempt, Keys
from tether.notify.settings import NotifySettings
from tether.notify.sinks import ntfy
from tether.tasks import keep_task

Clock = Callable[[], float]


def new_sink_id() -> str:
    """A fresh sink id (`nk_…`)."""
    return "nk_" + secrets.token_urlsafe(9)


class NotifyService:
    """Everything notifications, for one hub."""

    def __init__(
        self,
        store: SqlStore,
        events: EventLog,
        hub: HubView,
        keys: Keys,
        *,
        settings: NotifySettings,
        clock: Clock,
        alone: bool = True,
    ) -> None:
        self.alone = alone
        """The only hub on its store (no replicas): whatever the queue holds is its own."""
        self.db = NotifyDb(store)
        self.hub, self.keys, self.settings, self.clock = hub, keys, settings, clock
        self.visibility = Visibility(settings.visibility_ttl_s)
        self.deliverer = Deliverer(self.db, hub, keys, settings, clock, self.visibility)
        self.notifier = Notifier(self.db, events, hub, self.deliverer, settings, clock)
        self.answers = Answers(self.db, hub, keys)
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The notifier and its periodic checks run inside the block."""
        if self.alone:
            # Deliveries held by this hub's last run (it stopped or died mid-send) are
            # nobody's now: send them at once rather than when their hold runs out.
            await self.db.release_held(self.clock())
        keep_task(self._tasks, self.notifier.run())
        keep_task(self._tasks, self.notifier.tick_forever())
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.notifier.save_cursors(min_lag=1)
            await self.deliverer.aclose()

    # -- sinks ---------------------------------------------------------------------------

    async def add_sink(
        self,
        user_id: str,
        kind: str,
        url: str,
        *,
        hub_url: str,
        trusted: bool,
        secret: str | None = None,
        token: str | None = None,
        events: list[str] | None = None,
    ) -> tuple[Sink, str | None]:
        """Add a webhook or ntfy sink; returns it and (webhooks) its signing secret, which
        is shown this once."""
        parse_sink_url(url)
        if kind == "ntfy":
            ntfy.split_topic(url)
        elif kind != "webhook":
            raise ConfigError(f"unknown sink kind {kind!r}", hint="use webhook or ntfy")
        await check_destination(url, trusted=trusted)
        sink_id = new_sink_id()
        values: SinkSecrets = {}
        if kind == "webhook":
            secret = secret or secrets.token_urlsafe(24)
            if len(secret) < 16:
                raise ConfigError("a webhook secret needs at least 16 characters")
            values["secret"] = secret
        if token:
            values["token"] = token
        sink = Sink(
            id=sink_id,
            user_id=user_id,
            kind=kind,
            url=url.strip(),
            hub_url=hub_url,
            created_at=self.clock(),
            events=tuple(events) if events is not None else None,
            sealed=seal(self.keys.seal, values, bound_to=sink_id) if values else "",
            trusted=trusted,
        )
        await self.db.add_sink(sink)
        return sink, secret if kind == "webhook" else None

    async def subscribe_push(
        self,
        user_id: str,
        device_id: str,
        endpoint: str,
        keys: dict[str, str],
        *,
        hub_url: str,
        trusted: bool,
        hub_on_loopback: bool,
    ) -> Sink:
        """A browser's push subscription (replacing that browser's previous one)."""
        await check_push_endpoint(endpoint, trusted=trusted, hub_on_loopback=hub_on_loopback)
        sink_id = new_sink_id()
        sink = Sink(
            id=sink_id,
            user_id=user_id,
            kind="webpush",
            url=endpoint.strip(),
            hub_url=hub_url,
            created_at=self.clock(),
            device_id=device_id,
            sealed=seal(self.keys.seal, {"keys": keys}, bound_to=sink_id),
            trusted=trusted,
        )
        await self.db.add_sink(sink)
        return sink

    async def own_sink(self, user_id: str, sink_id: str) -> Sink:
        """One of the user's sinks (another user's is reported as missing, not forbidden)."""
        sink = await self.db.sink(sink_id)
        if sink is None or sink.user_id != user_id:
            raise NotFound(
                f"no notification sink {sink_id!r}", hint="list yours with `tether notify list`"
            )
        return sink

    async def remove_sink(self, user_id: str, sink_id: str) -> None:
        """Remove one of the user's sinks."""
        await self.own_sink(user_id, sink_id)
        await self.db.remove_sink(sink_id, user_id)

    async def test_sink(self, user_id: str, sink_id: str, team: str = "tether") -> Attempt:
        """Send a `test` notification to one sink now; say how it went."""
        sink = await self.own_sink(user_id, sink_id)
        now = self.clock()
        note = Notification(
            event="test",
            id=f"test:{sink.id}:{int(now)}",
            session="",
            team=team,
            url="/settings",
            title="tether test notification",
            summary=f"notifications to this {sink.kind} sink work",
            ts=now,
        )
        return await self.deliverer.attempt(Delivery(0, sink.id, note), sink)

    # -- preferences ---------------------------------------------------------------------

    async def prefs(self, user_id: str) -> Preferences:
        """A user's preferences."""
        return await self.db.prefs(user_id)

    async def save_prefs(self, user_id: str, prefs: Preferences) -> None:
        """Replace a user's preferences."""
        await self.db.save_prefs(user_id, prefs)

    # -- for tests -----------------------------------------------------------------------

    async def settled(self) -> None:
        """Until every change so far is processed and its deliveries tried."""
        await self.notifier.settled()

    async def tick(self) -> None:
        """Run the periodic checks once now (reminders, lost runners, retries)."""
        await self.notifier.tick()
