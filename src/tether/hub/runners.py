"""The runner directory: which runners are connected, which teams each serves, and the
one way a control reaches a runner (in process: its socket on this hub)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tether.auth.principal import Principal
from tether.errors import Conflict
from tether.hub.seams import CloseFn
from tether.protocol.codec import Envelope, encode, encode_frame
from tether.protocol.delivery import Receiver
from tether.protocol.messages import Hello, TeamInfo
from tether.store.base import Store
from tether.tasks import keep_task

log = logging.getLogger("tether.hub")

SendText = Callable[[str], Awaitable[None]]
WELCOME_WAIT_S = 10.0
"""How long a control waits for a runner that is between its hello and our welcome."""
RECONNECT_WAIT_S = 10.0
"""How long after a runner dropped (or this hub started) a control waits for it to come
back before the hub answers "not connected": a runner reconnects within a second or two
after a network blink, an expired session token or a hub restart."""
RECONNECT_POLL_S = 0.05


@dataclass(eq=False)
class RunnerLink:
    """One connection of a runner."""

    id: str
    send_text: SendText
    close: CloseFn
    principal: Principal | None = None
    version: str = ""
    teams: list[TeamInfo] = field(default_factory=list)
    agents: dict[str, str | None] = field(default_factory=dict)  # agent CLI → version
    last_seen: float = field(default_factory=time.time)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once `welcome` is sent: no control may go out before it."""
    receiver: Receiver = field(init=False)
    """The delivery rules' view of this connection."""

    def __post_init__(self) -> None:
        self.receiver = Receiver(self.id)

    async def send(self, envelope: Envelope) -> None:
        """Send one frame (sends are serialized)."""
        await self.send_frame(encode(envelope))

    async def send_frame(self, frame: str) -> None:
        """Send one encoded frame (sends are serialized)."""
        async with self.send_lock:
            await self.send_text(frame)


class RunnerDirectory:
    """Runners and their teams as this hub knows them (implements `Directory` and
    `ControlRoute` of tether.hub.seams)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.links: dict[str, RunnerLink] = {}
        """Connected runners by id."""
        self.teams: dict[str, tuple[str, TeamInfo]] = {}
        """Team name → (runner id, what the runner said about it)."""
        self._last_seen: dict[str, float] = {}
        self._dropped_at: dict[str, float] = {}
        """Runner id → when (monotonic) its last connection here ended."""
        self._loaded_at: float | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        """Every runner and team ever announced, from the store."""
        self._loaded_at = time.monotonic()
        for runner in await self.store.list_runners():
            self._last_seen[runner["id"]] = runner["last_seen"]
            for team in json.loads(runner["teams"]):
                info = TeamInfo.model_validate(team)
                self.teams.setdefault(info.name, (runner["id"], info))

    async def connect(self, link: RunnerLink, hello: Hello) -> RunnerLink | None:
        """Register a runner connection (it serves its teams from now on); return the
        older connection of the same runner it replaces, if any."""
        old = self.links.get(link.id)
        link.version, link.teams, link.agents = hello.version, list(hello.teams), dict(hello.agents)
        self.links[link.id] = link
        for team in hello.teams:
            self.teams[team.name] = (link.id, team)
        now = time.time()
        self._last_seen[link.id] = now
        teams = json.dumps([t.model_dump() for t in hello.teams])
        await self.store.save_runner(link.id, hello.version, teams, now)
        return old if old is not link else None

    async def runner_ready(self, link: RunnerLink) -> None:
        """The runner has its `welcome` (replicas deliver controls queued for it)."""

    def replica_of(self, runner_id: str | None) -> str | None:
        """The hub replica the runner is connected to (None: one hub, or not connected)."""
        return None

    def runner_user(self, runner_id: str | None) -> str | None:
        """The user whose runner device is connected as `runner_id` now."""
        link = self.links.get(runner_id or "")
        return link.principal.user_id if link is not None and link.principal else None

    def replica_of_here(self) -> str | None:
        """This hub's replica id (None: a hub of one process)."""
        return None

    async def update_teams(self, link: RunnerLink, teams: list[TeamInfo]) -> None:
        """A connected runner's teams changed (whether each can start). Only the teams its
        `hello` announced — those the policy let it serve — are updated; others are
        ignored (and logged), so an update cannot add a team."""
        if self.links.get(link.id) is not link:
            return
        known = {t.name for t in link.teams}
        extra = sorted(t.name for t in teams if t.name not in known)
        if extra:
            log.warning("runner %s announced teams it did not say hello with: %s", link.id, extra)
        kept = {t.name: t for t in teams if t.name in known}
        link.teams = [kept.get(t.name, t) for t in link.teams]
        for team in link.teams:
            if self.teams.get(team.name, (link.id, team))[0] == link.id:
                self.teams[team.name] = (link.id, team)
        now = self._last_seen[link.id] = time.time()
        rows = json.dumps([t.model_dump() for t in link.teams])
        await self.store.save_runner(link.id, link.version, rows, now)

    def disconnect(self, link: RunnerLink) -> bool:
        """A runner connection ended; True when it was the runner's current one."""
        if self.links.get(link.id) is not link:
            return False
        del self.links[link.id]
        self._dropped_at[link.id] = time.monotonic()
        now = self._last_seen[link.id] = time.time()
        # Its row said when it connected; now it says when it was last seen, so a hub
        # started later shows that (nothing waits for the write).
        teams = json.dumps([t.model_dump() for t in link.teams])
        saved = self.store.save_runner(link.id, link.version, teams, now)
        task = keep_task(self._background, saved)
        task.add_done_callback(_log_failed_save)
        return True

    # -- Directory ---------------------------------------------------------------------

    def team(self, name: str) -> tuple[str, TeamInfo] | None:
        """The runner serving a team, and what it said about it."""
        return self.teams.get(name)

    def is_connected(self, runner_id: str | None) -> bool:
        """Is the runner's socket up?"""
        return runner_id in self.links

    async def connected_soon(self, runner_id: str | None) -> bool:
        """Is the runner connected? For one away since moments ago — its connection here
        ended, or this hub started and knows it — wait until RECONNECT_WAIT_S after that
        for it to come back (a control then reaches it instead of a "not connected" the
        user must retry by hand)."""
        if runner_id is None or self.is_connected(runner_id):
            return runner_id is not None
        since = self._dropped_at.get(runner_id)
        if since is None and runner_id in self._last_seen:
            since = self._loaded_at
        if since is None:
            return False
        deadline = since + RECONNECT_WAIT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(RECONNECT_POLL_S)
            if self.is_connected(runner_id):
                return True
        return False

    def last_seen(self, runner_id: str | None) -> float | None:
        """Now for a connected runner; else when it was last connected (None: never)."""
        if self.is_connected(runner_id):
            return time.time()
        return self._last_seen.get(runner_id or "")

    def list_teams(self) -> list[dict[str, Any]]:
        """Every team a runner has announced, whether that runner is connected now, and
        (for claude/codex/gemini teams) the version of the agent CLI it found, or None
        when the CLI is missing there."""
        teams = []
        for _name, (runner_id, info) in sorted(self.teams.items()):
            link = self.links.get(runner_id)
            team: dict[str, Any] = {
                **info.model_dump(),
                "runner_id": runner_id,
                "runner_connected": link is not None,
            }
            if link is not None and info.agent in link.agents:
                team["agent_version"] = link.agents[info.agent]
                team["agent_installed"] = link.agents[info.agent] is not None
            teams.append(team)
        return teams

    # -- ControlRoute ------------------------------------------------------------------

    async def send_control(self, runner_id: str, session_id: str, control: BaseModel) -> None:
        """Hand a control to the runner's socket."""
        link = self.links.get(runner_id)
        if link is None:
            raise Conflict(
                f"the runner of session {session_id} ({runner_id}) is not connected",
                hint="wait for it to reconnect, then try again",
            )
        if not link.welcomed.is_set():
            # Between its hello and our welcome (the hub is reading what it holds for the
            # runner's sessions): a control sent now would overtake the welcome.
            try:
                await asyncio.wait_for(link.welcomed.wait(), WELCOME_WAIT_S)
            except TimeoutError:
                raise Conflict(
                    f"the runner of session {session_id} ({runner_id}) is still connecting",
                    hint="wait a moment, then try again",
                ) from None
        await link.send_frame(encode_frame("control", control, session=session_id))


def _log_failed_save(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not note when a runner was last seen: %s", task.exception())
