"""An in-process hub (+ runner) on a free loopback port, for tests.

The hub is the one production builds (`tether.app.create_app`, real identities), and
tokens come the way a user's first start makes them: `bootstrap_hub` creates the admin
and pairs this machine's CLI; the runner is the admin's runner device, as in
`tether up`. Session tokens live minutes, so whatever holds a socket gets a token
*provider* (a fresh token on every (re)connect), never a string frozen at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tests.support.timing import scaled
from tether.app import create_app
from tether.auth import records
from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.records import User
from tether.auth.service import AuthService
from tether.client import HubClient, RemoteSession, static_token
from tether.client.credentials import CredentialStore
from tether.client.http import TokenProvider
from tether.config import TeamConfig, TetherConfig
from tether.hub.bootstrap import bootstrap_hub, device_token, embedded_runner_token
from tether.hub.broker import Broker
from tether.hub.hub import Hub, hub_of
from tether.hub.settings import HubSettings
from tether.runner.daemon import Runner
from tether.serve import uvicorn_server, wait_started


class MovableClock:
    """Wall-clock time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Jump ahead."""
        self.offset += seconds


@dataclass
class Device:
    """A device minted for a test: its id, its user, and a refreshing token provider."""

    id: str
    user: User
    refresh_token: str
    device_key: str
    token: TokenProvider


@dataclass
class HubHandle:
    """A running hub (and maybe a runner), its admin, and how to talk to it."""

    url: str
    app: FastAPI
    data_dir: Path
    clock: MovableClock
    admin: User
    signin_code: str | None
    """The first start's one-time sign-in code (None when the data dir was used before)."""
    runner: Runner | None
    cli_device: records.Device
    """This machine's CLI device, paired by the bootstrap (the admin's)."""

    @property
    def hub(self) -> Hub:
        """The hub object behind the app."""
        return hub_of(self.app)

    @property
    def auth(self) -> AuthService:
        """The hub's identity service."""
        return self.hub.auth

    @property
    def broker(self) -> Broker:
        """The hub's session broker."""
        return self.hub.broker

    @property
    def tokens(self) -> TokenProvider:
        """The CLI device's session tokens: a fresh one on every call."""
        return device_token(self.auth, self.cli_device.id)

    @property
    def token(self) -> str:
        """A fresh session token of the CLI device (for one HTTP call or a short-lived
        socket; anything that reconnects takes `tokens`)."""
        return self.auth.access_token(self.cli_device)

    async def runner_token(self, runner_id: str) -> TokenProvider:
        """Session tokens of the admin's runner device named `runner_id` (minted once)."""
        return await embedded_runner_token(self.auth, self.admin, runner_id)

    def client(self, token: TokenProvider | str | None = None) -> HubClient:
        """An HTTP client (default: the CLI device's tokens)."""
        return HubClient(self.url, _provider(token, self.tokens))

    def session(
        self, session_id: str, token: TokenProvider | str | None = None, **kwargs: Any
    ) -> RemoteSession:
        """A RemoteSession on this hub (default: the CLI device's tokens)."""
        return RemoteSession(self.url, session_id, _provider(token, self.tokens), **kwargs)

    def allowing_session(self, session_id: str, decided: list[str] | None = None) -> RemoteSession:
        """A RemoteSession that allows every permission request (noting its id in `decided`)."""

        async def allow(request: dict[str, object]) -> None:
            if decided is not None:
                decided.append(str(request["request_id"]))
            await remote.decide_permission(str(request["request_id"]), "allow")

        remote = self.session(session_id, on_permission_request=allow)
        return remote

    async def device(
        self, user: User | None = None, *, kind: str = "cli", name: str = "t"
    ) -> Device:
        """Mint a device (as `tether up` does for the local CLI) and a provider that
        rotates its refresh token for every session token, as a paired client does."""
        user = user or self.admin
        key = new_device_key()
        pairing = await self.auth.mint_device(
            user, name=name, kind=kind, fingerprint=fingerprint_of(key)
        )
        state = {"refresh": pairing.refresh_token}

        async def provide() -> str:
            done = await self.auth.refresh(state["refresh"], key, address="127.0.0.1")
            state["refresh"] = done.refresh_token
            return done.access_token

        return Device(pairing.device.id, user, pairing.refresh_token, key, provide)

    async def user(self, name: str) -> User:
        """A new non-admin user."""
        return await self.auth.db.create_user(name, is_admin=False, now=self.clock())

    def snapshot(self, *, skip: tuple[str, ...] = ("audit_log",)) -> dict[str, list[Any]]:
        """Every row of every table (but the audit log), to prove nothing changed. A
        device's `last_seen` is left out: a refused request was still a sighting of the
        device that sent it, not a change it made."""
        conn = sqlite3.connect(self.data_dir / "tether.db")
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {
                t: sorted(map(repr, conn.execute(_select_all(conn, t))))
                for t in tables
                if t not in skip
            }
        finally:
            conn.close()


def _select_all(conn: sqlite3.Connection, table: str) -> str:
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    if table == "devices":
        columns.remove("last_seen")
    return f"SELECT {', '.join(columns)} FROM {table}"  # names from the schema


def _provider(token: TokenProvider | str | None, default: TokenProvider) -> TokenProvider:
    if token is None:
        return default
    return static_token(token) if isinstance(token, str) else token


def demo_team(path: Path, name: str = "demo", **kwargs: object) -> TeamConfig:
    """A demo-agent team in `path`."""
    return TeamConfig(name=name, path=str(path), agent="demo", **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1:<free port>; yield its base URL; stop serving on exit."""
    server = uvicorn_server(app, "127.0.0.1", 0)
    serve_task = asyncio.create_task(server.serve())
    try:
        await wait_started(server, timeout=scaled(30))
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serve_task


@contextlib.asynccontextmanager
async def connected_runner(
    url: str,
    token: TokenProvider,
    config: TetherConfig,
    data_dir: Path,
    *,
    runner_id: str,
    settings: HubSettings | None = None,
) -> AsyncIterator[Runner]:
    """Run a runner against the hub at `url` until it is connected; yield it; stop it on exit.

    With `settings`, it uses the hub's heartbeat and dead-after times.
    """
    timing = (
        {}
        if settings is None
        else {"heartbeat_s": settings.heartbeat_s, "dead_after_s": settings.dead_after_s}
    )
    runner = Runner(url, token, config, data_dir, runner_id=runner_id, **timing)
    runner_task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.connected.wait(), scaled(30))
        yield runner
    finally:
        runner_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner_task


@contextlib.asynccontextmanager
async def running_hub(
    data_dir: Path,
    config: TetherConfig | None = None,
    *,
    settings: HubSettings | None = None,
    with_runner: bool = True,
    runner_id: str = "test-runner",
) -> AsyncIterator[HubHandle]:
    """Start a hub on 127.0.0.1:<free port> (and the admin's runner for `config`, by
    default one demo team), yield, stop both."""
    clock = MovableClock()
    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_app(hub_settings, clock=clock)
    async with serving(app) as url, contextlib.AsyncExitStack() as stack:
        auth = hub_of(app).auth
        boot = await bootstrap_hub(auth, data_dir, url)
        cli_device = await _cli_device(auth, data_dir, url)
        runner = None
        if with_runner:
            cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
            token = await embedded_runner_token(auth, boot.admin, runner_id)
            runner = await stack.enter_async_context(
                connected_runner(
                    url, token, cfg, data_dir, runner_id=runner_id, settings=hub_settings
                )
            )
        yield HubHandle(url, app, data_dir, clock, boot.admin, boot.signin_code, runner, cli_device)


@contextlib.asynccontextmanager
async def serving_teams(
    data_dir: Path, *teams: TeamConfig
) -> AsyncIterator[tuple[HubHandle, HubClient]]:
    """A hub and the admin's runner serving `teams`, and an HTTP client of the hub."""
    config = TetherConfig(teams={team.name: team for team in teams})
    async with running_hub(data_dir, config) as hub, hub.client() as client:
        yield hub, client


@dataclass
class TeamSession:
    """A new session of a team, and its owner, connected."""

    hub: HubHandle
    client: HubClient
    id: str
    remote: RemoteSession


@contextlib.asynccontextmanager
async def team_session(
    data_dir: Path, team: TeamConfig, *, allowing: bool = False
) -> AsyncIterator[TeamSession]:
    """A hub and runner serving `team` alone, a new session of it, and its owner
    connected (with `allowing`, one that allows every permission request)."""
    async with serving_teams(data_dir, team) as (hub, client):
        session_id = str((await client.start(team.name))["id"])
        remote = hub.allowing_session(session_id) if allowing else hub.session(session_id)
        async with remote:
            yield TeamSession(hub, client, session_id, remote)


async def _cli_device(auth: AuthService, data_dir: Path, url: str) -> records.Device:
    creds = await asyncio.to_thread(CredentialStore(data_dir).load, "cli", url)
    assert creds is not None, "bootstrap_hub pairs this machine's CLI"
    device = await auth.device(creds.device_id)
    assert device is not None
    return device


async def wait_for_event(
    remote: RemoteSession, kind: str, timeout: float = 30.0, **fields: object
) -> dict[str, Any]:
    """Consume `remote`'s events until one of `kind` (with `fields`) arrives; return its payload."""

    async def scan() -> dict[str, object]:
        async for event in remote:
            if event.kind == kind and all(event.payload.get(k) == v for k, v in fields.items()):
                return event.payload
        raise AssertionError(f"stream ended before a {kind} event")

    return await asyncio.wait_for(scan(), scaled(timeout))
