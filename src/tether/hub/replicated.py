"""A hub replica: the broker with the shared seams of tether.hub.seams, on PostgreSQL.

`Replication` owns what a replica adds to one hub: its id and heartbeat row (the replica
registry), the LISTEN connection (the bus), revocations heard from other replicas, and a
`ReplicaBroker` whose runner directory, owner slots and fan-out span the cluster. It
starts after the store is open and stops before it closes (tether.app's lifespan).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import socket
from typing import Any

from tether.auth.live import LiveConnections
from tether.auth.service import SESSION_TOKEN_KEY, AuthService
from tether.cluster import controls, revocations
from tether.cluster.bus import PgBus
from tether.cluster.replicas import ReplicaRegistry
from tether.errors import StoreError
from tether.hub.broker import Broker
from tether.hub.live import LiveSession
from tether.hub.replica_feed import ReplicaFeed
from tether.hub.replica_owners import ReplicaOwnerSlots
from tether.hub.replica_runners import ReplicaDirectory
from tether.hub.runners import RunnerLink
from tether.hub.settings import HubSettings
from tether.hub_secrets import HubSecrets
from tether.protocol.messages import Hello, Welcome
from tether.store.postgres import PostgresStore
from tether.tasks import cancel_and_wait, keep_task

log = logging.getLogger("tether.hub.cluster")

CONTROL_TTL_S = 3600.0
"""A control queued for a runner that never came back is dropped after this long."""
SWEEP_S = 60.0


def new_replica_id() -> str:
    """This process's name in the cluster: the machine and a random tail (two replicas on
    one machine stay apart)."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


def key_check(secrets: HubSecrets) -> str:
    """A value that is the same exactly when two replicas sign session tokens with the same
    key (an HMAC of a constant under it: it reveals nothing of the key)."""
    key = secrets.get_bytes(SESSION_TOKEN_KEY)
    return hmac.new(key, b"tether replica key check", hashlib.sha256).hexdigest()[:32]


class ReplicaBroker(Broker):
    """The broker of one replica: catches a runner's sessions up from the table before it
    gets its `welcome` here, and follows sessions ingested elsewhere."""

    def __init__(self, store: PostgresStore, settings: HubSettings, bus: PgBus, replica_id: str):
        directory = ReplicaDirectory(store, bus, replica_id)
        owners = ReplicaOwnerSlots(store, bus, replica_id)
        super().__init__(store, settings, directory=directory, owners=owners)
        self.replica_directory = directory
        self.owner_slots = owners
        self.feed = ReplicaFeed(store, bus, self.registry, directory, self.presence, self.observers)
        directory.on_moved = self._runner_moved
        owners.on_change = self._presence_changed

    async def load(self) -> None:
        """Sessions, teams, where runners are, who owns what."""
        await super().load()
        await self.owner_slots.load()

    async def session(self, session_id: str) -> LiveSession:
        """The live session; one ingested elsewhere is read up to date in the background."""
        live = await super().session(session_id)
        if not self.feed.ingested_here(live):
            self.feed.follow(live)
        return live

    async def runner_connected(self, link: RunnerLink, hello: Hello) -> Welcome:
        """Catch the runner's sessions up (another replica may have stored more of them
        than this one has seen), then welcome it as one hub does."""
        await self.feed.catch_up_runner(list(hello.sessions), link.id)
        return await super().runner_connected(link, hello)

    def _runner_moved(self, runner_id: str) -> None:
        for live in self.registry.of_runner(runner_id):
            if runner_id not in self.directory.links:
                live.cursor.reset()
            self.presence.announce(live, self.info(live))

    def _presence_changed(self, session_id: str) -> None:
        live = self.sessions.get(session_id)
        if live is not None:
            holder = self.owner_slots.holder(session_id)
            # A viewer here whose slot another replica took (`--take`) owns nothing now.
            taken = "taken over on another device"
            self.presence.demote_stale_owners(live, holder.connection_id if holder else None, taken)
            self.presence.announce(live, self.info(live))


class ReplicaLive(LiveConnections):
    """Live sockets whose revocation reaches every replica: this one closes its own and
    announces it; each other replica forgets its cached device and closes its own."""

    def __init__(self, store: PostgresStore, bus: PgBus, replica_id: str, auth: AuthService):
        super().__init__()
        self.store = store
        self.replica_id = replica_id
        self.auth = auth
        self._background: set[asyncio.Task[Any]] = set()
        bus.subscribe(revocations.CHANNEL, self._heard)

    async def close(self, key: str, reason: str) -> int:
        """Close the sockets under `key` here, and on every other replica."""
        closed = await super().close(key, reason)
        revocation = revocations.Revocation(key, reason, self.replica_id)
        try:
            await self.store.run_write(revocations.announce(revocation))
        except StoreError as exc:
            log.error("could not tell the other replicas to close %s: %s", key, exc)
        return closed

    def _heard(self, payload: str) -> None:
        revocation = revocations.Revocation.parse(payload)
        if revocation is None or revocation.origin == self.replica_id:
            return
        if revocation.key.startswith("device:"):
            self.auth.forget_device(revocation.key.removeprefix("device:"))
        keep_task(self._background, LiveConnections.close(self, revocation.key, revocation.reason))


class Replication:
    """What one replica runs beside the hub: the bus, its heartbeat, the sweeps."""

    def __init__(self, store: PostgresStore, settings: HubSettings, auth: AuthService) -> None:
        self.store = store
        self.auth = auth
        self.replica_id = new_replica_id()
        self.bus = PgBus(store.dsn)
        self.broker = ReplicaBroker(store, settings, self.bus, self.replica_id)
        self.registry = ReplicaRegistry(
            store, self.replica_id, settings.public_url or "", on_evicted=self._evicted
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def live_sockets(self, auth: AuthService) -> ReplicaLive:
        """The live-socket registry for the auth service (revocations cluster-wide)."""
        return ReplicaLive(self.store, self.bus, self.replica_id, auth)

    async def check_keys(self) -> None:
        """Refuse (ConfigError) to join replicas with another secrets file. `tether hub`
        asks before it serves, so the refusal is the command's error, not a traceback
        from the server's start-up; `start` asks again."""
        self.registry.key_check = await asyncio.to_thread(key_check, self.auth.secrets)
        await self.registry.refuse_other_keys()

    async def start(self) -> None:
        """Join the cluster (after the store is open, before the broker loads)."""
        await self.check_keys()
        await self.registry.start()
        await self.bus.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="tether-control-sweep")
        log.info("hub replica %s joined the cluster on %s", self.replica_id, self.store.where)

    async def stop(self) -> None:
        """Leave the cluster: runners and owner slots of this replica are freed at once."""
        await cancel_and_wait(self._sweeper)
        await self.bus.stop()
        await self.registry.stop()

    def _evicted(self) -> None:
        # Taken for dead (the database was away too long): claim this replica's runners
        # and read the shared state again.
        keep_task(self._background, self.broker.replica_directory.refresh())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                dropped = await self.store.run_write(controls.expire(CONTROL_TTL_S))
            except StoreError as exc:
                log.warning("control sweep failed: %s", exc)
                continue
            if dropped:
                log.warning("dropped %d controls whose runner never came back", len(dropped))
