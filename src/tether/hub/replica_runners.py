"""The runner directory of a hub replica: runners connected to any replica of the cluster,
and controls routed to the replica that holds the runner's socket.

`runner_presence` (one row per runner) says where each runner is; this replica keeps a
copy of it, refreshed on every NOTIFY and whenever the bus reconnects. A control for a
runner on another replica goes into the `controls` table; that replica is woken, sends
it and deletes it in one transaction, so a replica that dies mid-way leaves it for the
runner's next replica, which sends what still waits once the runner has its `welcome`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from tether.cluster import controls, replicas
from tether.cluster.bus import PgBus
from tether.cluster.presence import (
    RUNNER_CHANNEL,
    RunnerPlace,
    claim_runner,
    release_runner,
    runner_place,
    runner_places,
    runner_user,
)
from tether.errors import Conflict, StoreError
from tether.hub.runners import RunnerDirectory, RunnerLink
from tether.ids import new_connection_id
from tether.protocol.codec import encode_frame
from tether.protocol.messages import Hello, TeamInfo
from tether.store.postgres import PostgresStore
from tether.tasks import keep_task

log = logging.getLogger("tether.hub.cluster")


class ReplicaDirectory(RunnerDirectory):
    """`Directory` and `ControlRoute` across replicas (tether.hub.seams)."""

    def __init__(self, store: PostgresStore, bus: PgBus, replica_id: str) -> None:
        super().__init__(store)
        self.pg = store
        self.replica_id = replica_id
        self.places: dict[str, RunnerPlace] = {}
        """Every connected runner, cluster-wide: where its socket is."""
        self.on_moved: Callable[[str], None] = lambda _runner_id: None
        """Called when a runner came or went on another replica (viewers see it)."""
        self._connections: weakref.WeakKeyDictionary[RunnerLink, str] = weakref.WeakKeyDictionary()
        self._delivering: dict[str, asyncio.Lock] = {}
        self._ready: set[str] = set()
        self._users: dict[str, str] = {}
        """The user owning each runner connected elsewhere (runners.owner_user)."""
        self._background: set[asyncio.Task[Any]] = set()
        bus.subscribe(RUNNER_CHANNEL, lambda runner_id: self._spawn(self._moved(runner_id)))
        bus.subscribe(controls.CHANNEL, lambda runner_id: self._spawn(self.deliver(runner_id)))
        bus.subscribe(replicas.CHANNEL, lambda _ids: self._spawn(self.refresh()))
        bus.on_resync(lambda: self._spawn(self.refresh()))

    async def load(self) -> None:
        """Runners and teams from the store, and where the connected runners are."""
        await super().load()
        self.places = await self.pg.run_read(runner_places())

    # -- this replica's runner connections ---------------------------------------------

    async def connect(self, link: RunnerLink, hello: Hello) -> RunnerLink | None:
        """Register the connection here and claim the runner cluster-wide (a connection
        of it on another replica is closed by that replica when it hears)."""
        old = await super().connect(link, hello)
        connection_id = new_connection_id()
        self._connections[link] = connection_id
        self.places[link.id] = RunnerPlace(self.replica_id, connection_id)
        device_id = link.principal.device_id if link.principal else None
        await self.pg.run_write(claim_runner(link.id, self.replica_id, connection_id, device_id))
        return old

    async def runner_ready(self, link: RunnerLink) -> None:
        """Send the runner the controls that waited for it (posted while it was away, or
        left behind by a replica that died before sending them)."""
        self._ready.add(link.id)
        await self.deliver(link.id)

    def disconnect(self, link: RunnerLink) -> bool:
        """The connection ended: give up the runner's row unless a newer one holds it."""
        current = super().disconnect(link)
        connection_id = self._connections.pop(link, None)
        if current:
            self._ready.discard(link.id)
        if connection_id is not None:
            place = self.places.get(link.id)
            if place is not None and place.connection_id == connection_id:
                del self.places[link.id]
            self._spawn(self._release(link.id, connection_id))
        return current

    async def _release(self, runner_id: str, connection_id: str) -> None:
        try:
            await self.pg.run_write(release_runner(runner_id, connection_id))
        except StoreError as exc:  # the replica registry clears it up if we are gone
            log.warning("could not release runner %s: %s", runner_id, exc)

    # -- what other replicas did ---------------------------------------------------------

    async def _moved(self, runner_id: str) -> None:
        """A runner connected somewhere: note where, learn its teams, and close an older
        connection of it that this replica still holds."""
        place = await self.pg.run_read(runner_place(runner_id))
        await self._learn(runner_id, place)

    async def refresh(self) -> None:
        """Read every runner's place again (notifications may have been missed)."""
        try:
            places = await self.pg.run_read(runner_places())
        except StoreError as exc:
            log.warning("could not read where runners are: %s", exc)
            return
        for runner_id in set(places) | set(self.places):
            await self._learn(runner_id, places.get(runner_id))
        for runner_id in list(self.links):
            if runner_id in self._ready:
                await self.deliver(runner_id)

    async def _learn(self, runner_id: str, place: RunnerPlace | None) -> None:
        link = self.links.get(runner_id)
        mine = self._connections.get(link) if link is not None else None
        if place is None and mine is not None:
            # This replica was taken for dead while the runner stayed: claim it again.
            place = RunnerPlace(self.replica_id, mine)
            device_id = link.principal.device_id if link and link.principal else None
            await self.pg.run_write(claim_runner(runner_id, self.replica_id, mine, device_id))
        before = self.places.get(runner_id)
        if place is None:
            self.places.pop(runner_id, None)
        else:
            self.places[runner_id] = place
            await self._load_teams(runner_id)
            user = await self.pg.run_read(runner_user(runner_id))
            if user is not None:
                self._users[runner_id] = user
        if link is not None and place is not None and place.connection_id != mine:
            log.warning("runner %s connected to replica %s; closing it here", runner_id, place)
            closing = link.receiver.replaced()
            await link.close(closing.code, closing.reason)
        if before != place:
            self.on_moved(runner_id)

    async def _load_teams(self, runner_id: str) -> None:
        for runner in await self.store.list_runners():
            if runner["id"] == runner_id:
                for team in json.loads(runner["teams"]):
                    info = TeamInfo.model_validate(team)
                    self.teams[info.name] = (runner_id, info)
                self._last_seen[runner_id] = runner["last_seen"]

    # -- Directory -----------------------------------------------------------------------

    def is_connected(self, runner_id: str | None) -> bool:
        """Is the runner's socket up on any replica?"""
        return runner_id is not None and (runner_id in self.links or runner_id in self.places)

    def replica_of(self, runner_id: str | None) -> str | None:
        """The replica holding the runner's socket."""
        if runner_id in self.links:
            return self.replica_id
        place = self.places.get(runner_id or "")
        return place.replica_id if place is not None else None

    def runner_user(self, runner_id: str | None) -> str | None:
        """The user whose runner it is, wherever it is connected."""
        if runner_id in self.links:
            return super().runner_user(runner_id)
        return self._users.get(runner_id or "") if runner_id in self.places else None

    def replica_of_here(self) -> str | None:
        """This replica's id."""
        return self.replica_id

    def last_seen(self, runner_id: str | None) -> float | None:
        """Now for a connected runner; else when it was last connected (None: never)."""
        if self.is_connected(runner_id):
            return time.time()
        return self._last_seen.get(runner_id or "")

    def list_teams(self) -> list[dict[str, Any]]:
        """Every team announced; a runner on another replica counts as connected."""
        teams = super().list_teams()
        for team in teams:
            team["runner_connected"] = self.is_connected(team["runner_id"])
            team["runner_replica"] = self.replica_of(team["runner_id"])
        return teams

    # -- ControlRoute --------------------------------------------------------------------

    async def send_control(self, runner_id: str, session_id: str, control: BaseModel) -> None:
        """Straight to the socket when it is here; else queued for its replica."""
        if runner_id in self.links:
            await super().send_control(runner_id, session_id, control)
            return
        if runner_id not in self.places:
            raise Conflict(
                f"the runner of session {session_id} ({runner_id}) is not connected",
                hint="wait for it to reconnect, then try again",
            )
        frame = encode_frame("control", control, session=session_id)
        await self.pg.run_write(controls.post(runner_id, frame))

    async def deliver(self, runner_id: str) -> int:
        """Send a runner connected here what waits for it in the `controls` table."""
        link = self.links.get(runner_id)
        if link is None or runner_id not in self._ready:
            return 0
        lock = self._delivering.setdefault(runner_id, asyncio.Lock())

        async def send(frames: list[str]) -> None:
            for frame in frames:
                await link.send_frame(frame)

        async with lock:
            try:
                async with self.pg.connection() as conn:
                    return await controls.deliver(conn, runner_id, send)
            except (StoreError, OSError, RuntimeError) as exc:
                # The rows stay: this runner's next connection (here or elsewhere) sends them.
                log.warning("controls for runner %s wait: %s", runner_id, exc)
                return 0

    def _spawn(self, coro: Any) -> None:
        task = keep_task(self._background, coro)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("replica directory task failed", exc_info=task.exception())
